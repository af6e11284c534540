// gpusoakd's Prometheus metrics (docs/metrics.md has every name, label and meaning). One registry
// per daemon; each GPU worker feeds its own observer, which turns the context's counters (that
// restart at zero with every context) into counters that only grow.
//
// Thread safety: every member may be called from any thread; an observer is fed by one worker at
// a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {

class daemon_metrics {
 public:
  explicit daemon_metrics(std::string version);
  ~daemon_metrics();
  daemon_metrics(const daemon_metrics&) = delete;
  daemon_metrics& operator=(const daemon_metrics&) = delete;

  // The observer of device `gpu` (created on first use, lives as long as this object).
  [[nodiscard]] soak_observer& gpu(int device);

  // A run starts (or resumes) on `device`: run info, state running, and every counter series the
  // run can move (each scenario of the plan, runs_finished_total of each final state) at 0.
  // plan_sha256 is the run's (run_provenance) for gpusoak_run_info; its mask label follows the
  // run's context (soak_observer::on_context).
  void run_started(int device, std::string_view run_id, const scenarios::plan& plan, double plan_seconds,
                   std::string_view plan_sha256 = {});
  void run_finished(int device, run_state state);

  void request_answered(int http_status);
  // Whether the run store's writes fail for lack of space (run_store::out_of_space).
  void store_out_of_space(bool full);

  // The text exposition of every metric (RSS refreshed first).
  [[nodiscard]] std::string serialize();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gpusoak::harness
