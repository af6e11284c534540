// The daemon's runs: one worker thread per GPU, each running one soak at a time (soak_runner),
// all writing to one run store. The HTTP API and the signal handler talk to this.
//
// A plan that names several devices starts one run per device, each on its own worker; they share
// the plan and time scale and are gated apart (each keeps its verdict). A device already running
// something is busy: the whole request is refused, nothing starts.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/error.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {

class daemon_metrics;

struct run_manager_options {
  gpu::context_options context;  // backend, masks and budget of every worker's context
  // Where plan names are looked up, in order: the first folder holding NAME.yaml wins.
  std::vector<std::filesystem::path> plans_dirs;
  std::size_t max_failure_events = 20;
  // How many EGL devices a run may name (indices 0 to N-1); unset: openable_devices(context),
  // asked once, at the first start.
  std::optional<std::size_t> devices_present;
};

// What POST /api/v1/runs asks for.
struct run_request {
  std::optional<std::string> plan_name;  // a plan in plans_dirs: [A-Za-z0-9_-]+
  std::optional<std::string> plan_yaml;  // or the plan itself
  double time_scale = 1.0;               // scenario seeds derive from the run id
};

// Why a request was refused; the API answers http_status(kind).
struct request_error {
  error_kind kind = error_kind::validation;
  std::string message;
  // For a bad plan or request: each problem on its own (the message holds them all, one a line),
  // so the 400 body can list them.
  std::vector<std::string> problems;
};

template <class T>
using request_result = std::expected<T, request_error>;

struct started_run {
  std::string id;
  int device = 0;
};

// Live view of an active run (empty when the run is not active here).
struct live_status {
  int device = 0;
  std::size_t phase_index = 0;
  std::string phase_name;
  double plan_t = 0;        // plan time reached
  double plan_seconds = 0;  // the plan's total
  bool stopping = false;    // a stop was requested
};

// How a run ended here when the store could not record it (its disk full): the API shows this
// instead of the stored state for as long as the daemon runs.
struct unstored_end {
  run_state state = run_state::interrupted;
  std::string reason;
};

class run_manager {
 public:
  run_manager(run_store& store, daemon_metrics* metrics, run_manager_options options);
  ~run_manager();  // shutdown()
  run_manager(const run_manager&) = delete;
  run_manager& operator=(const run_manager&) = delete;

  // Validates the plan (name, YAML, devices, time scale) and starts one run per device. Errors:
  // validation for a bad request or plan, not_found for an unknown plan name, conflict when a
  // device is busy, unavailable while shutting down, out_of_space when the store has no room for
  // the run, io when it cannot write.
  [[nodiscard]] request_result<std::vector<started_run>> start(const run_request& request);

  // Asks an active run to stop after its current step (it ends aborted). not_found for an unknown
  // run, conflict for one that is not active here, io when the store cannot be read.
  [[nodiscard]] request_result<void> stop(std::string_view run_id);

  [[nodiscard]] std::optional<live_status> live(std::string_view run_id) const;
  // Devices with an active run, and the run ids.
  [[nodiscard]] std::vector<started_run> active() const;
  // The end of a run that the store could not record, if any.
  [[nodiscard]] std::optional<unstored_end> unstored(std::string_view run_id) const;

  // At start-up: marks runs a dead process left running as interrupted and resumes every
  // interrupted run on its device. Returns the resumed run ids.
  [[nodiscard]] result<std::vector<std::string>> resume_interrupted();

  // Interrupts every active run after its current step, waits for the workers, and leaves the
  // runs resumable. Idempotent; no new run starts afterwards.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gpusoak::harness
