#include "gpusoak/harness/run_manager.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/daemon_metrics.hpp"

namespace gpusoak::harness {
namespace {

// A plan or time scale that cannot run, with the error's kind (validation, or not_found for a plan
// name that names no file): the field, then every problem, one a line.
request_error bad_request(std::string_view field, const error& e) {
  auto problems = scenarios::problem_lines(e.message);
  const std::string message = problems.size() <= 1
                                  ? fmt::format("\"{}\": {}", field, e.message)
                                  : fmt::format("\"{}\": {} problems:\n{}", field, problems.size(), e.message);
  return request_error{e.kind, message, std::move(problems)};
}

double plan_seconds(const scenarios::plan& plan) {
  return std::chrono::duration<double>(plan.total_duration()).count();
}

// The device index of a stored run ("egl_device:1" -> 1).
std::optional<int> device_of(std::string_view device) {
  const auto colon = device.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int index = 0;
  for (char c : device.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + (c - '0');
  }
  return index;
}

// Scenario seeds derive from the run id: every run gets its own patterns, and a resume the same
// ones as before.
std::uint64_t run_seed(std::string_view run_id) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (char c : run_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

// Forwards to the metrics observer and keeps the live status for GET /runs/{id}.
class status_observer final : public soak_observer {
 public:
  status_observer(soak_observer* metrics, std::mutex& mutex, live_status& status)
      : metrics_(metrics), mutex_(mutex), status_(status) {}

  void on_context(gpu::context& ctx) override {
    if (metrics_ != nullptr) metrics_->on_context(ctx);
  }
  void on_phase(std::size_t index, const scenarios::phase& ph, double plan_t) override {
    {
      std::lock_guard lock(mutex_);
      status_.phase_index = index;
      status_.phase_name = ph.name;
      status_.plan_t = plan_t;
    }
    if (metrics_ != nullptr) metrics_->on_phase(index, ph, plan_t);
  }
  void on_step(std::string_view scenario, const scenarios::step_result& r) override {
    if (metrics_ != nullptr) metrics_->on_step(scenario, r);
  }
  void on_samples(std::span<const sample> samples, const gpu::counters_snapshot& counters) override {
    if (!samples.empty()) {
      std::lock_guard lock(mutex_);
      status_.plan_t = samples.front().t_seconds;
    }
    if (metrics_ != nullptr) metrics_->on_samples(samples, counters);
  }
  void on_watchdog(std::string_view reason) override {
    if (metrics_ != nullptr) metrics_->on_watchdog(reason);
  }

 private:
  soak_observer* metrics_;
  std::mutex& mutex_;
  live_status& status_;
};

}  // namespace

struct run_manager::impl {
  // One GPU's worker. The thread is joined by the next start on this GPU, or by shutdown.
  struct slot {
    std::string run_id;  // empty when idle
    live_status status;
    soak_control control;
    std::thread worker;
  };

  run_store& store;
  daemon_metrics* metrics;
  run_manager_options options;
  mutable std::mutex mutex;
  std::map<int, std::unique_ptr<slot>> slots;
  std::map<std::string, unstored_end, std::less<>> unstored;  // guarded by mutex
  bool shutting_down = false;

  impl(run_store& s, daemon_metrics* m, run_manager_options o) : store(s), metrics(m), options(std::move(o)) {}

  // options.devices_present, asked of EGL the first time; devices do not come and go under a
  // running daemon.
  result<std::size_t> devices_present() {
    const std::lock_guard lock(mutex);
    if (!options.devices_present) {
      GPUSOAK_TRY_ASSIGN(options.devices_present, openable_devices(options.context));
    }
    return *options.devices_present;
  }

  // Called with the mutex held: the slot for `device`, free (its old worker joined).
  slot& free_slot(int device) {
    auto& s = slots[device];
    if (s && s->worker.joinable()) s->worker.join();
    s = std::make_unique<slot>();
    return *s;
  }

  // Called with the mutex held; the run is stored (queued or interrupted).
  void launch(slot& s, int device, const std::string& run_id, const scenarios::plan& plan, double time_scale) {
    const std::uint64_t seed = run_seed(run_id);
    s.run_id = run_id;
    s.status = {.device = device, .plan_seconds = plan_seconds(plan)};
    if (metrics != nullptr) {
      const auto stored = store.get_run(run_id);
      metrics->run_started(device, run_id, plan, s.status.plan_seconds,
                           stored ? stored->provenance.plan_sha256 : std::string());
    }
    s.worker = std::thread([this, &s, device, run_id, plan, seed, time_scale] {
      status_observer observer(metrics != nullptr ? &metrics->gpu(device) : nullptr, mutex, s.status);
      soak_options o{.context = options.context,
                     .device_from_cli = true,
                     .seed = seed,
                     .time_scale = time_scale,
                     .progress = nullptr,
                     .max_failure_events = options.max_failure_events,
                     .observer = &observer,
                     .control = &s.control};
      o.context.device_index = device;
      o.context.name = fmt::format("gpu{}", device);
      run_state final_state = run_state::could_not_run;
      std::optional<unstored_end> end_not_stored;
      try {
        auto outcome = execute_soak(plan, run_id, store, o);
        if (outcome) {
          final_state = outcome->state;
          if (auto stored = store.get_run(run_id); !stored || stored->state != outcome->state) {
            end_not_stored = unstored_end{.state = outcome->state, .reason = outcome->reason};
          }
          // An end the store could not record (its disk full) is worth an error line.
          spdlog::log(end_not_stored ? spdlog::level::err : spdlog::level::info,
                      "run={} scenario=- context=gpu{}: {} ({})", run_id, device, to_string(outcome->state),
                      outcome->reason);
        } else {
          const std::string& why = outcome.error().message;
          spdlog::error("run={} scenario=- context=gpu{}: could not run: {}", run_id, device, why);
          if (outcome.error().kind == error_kind::out_of_space) {
            final_state = run_state::interrupted;  // resumable once there is space, as execute_soak does
            end_not_stored = unstored_end{.state = final_state, .reason = why};
          } else if (!store.finish_run(run_id, run_state::could_not_run, why, now_timestamp())) {
            end_not_stored = unstored_end{.state = final_state, .reason = why};
          }
        }
      } catch (const std::exception& e) {
        spdlog::error("run={} scenario=- context=gpu{}: worker stopped: {}", run_id, device, e.what());
      }
      if (metrics != nullptr) metrics->run_finished(device, final_state);
      std::lock_guard lock(mutex);
      if (end_not_stored) unstored.insert_or_assign(run_id, *end_not_stored);
      s.run_id.clear();
    });
  }
};

run_manager::run_manager(run_store& store, daemon_metrics* metrics, run_manager_options options)
    : impl_(std::make_unique<impl>(store, metrics, std::move(options))) {}

run_manager::~run_manager() {
  shutdown();
}

request_result<std::vector<started_run>> run_manager::start(const run_request& request) {
  if (request.plan_name.has_value() == request.plan_yaml.has_value()) {
    return std::unexpected(request_error{error_kind::validation,
                                         "give exactly one of \"plan\" (a plan name) or \"plan_yaml\" (the plan)"});
  }
  if (!std::isfinite(request.time_scale) || !(request.time_scale > 0)) {
    return std::unexpected(request_error{
        error_kind::validation, fmt::format("\"time_scale\": {} is not a number > 0 (e.g. 0.25)", request.time_scale)});
  }
  result<scenarios::plan> plan = make_error(error_kind::validation, "no plan");
  std::string text;
  if (request.plan_name) {
    if (!scenarios::is_valid_plan_name(*request.plan_name)) {
      return std::unexpected(request_error{
          error_kind::validation,
          fmt::format("\"plan\": '{}' is not a plan name: use letters, digits, '-' and '_' only (e.g. smoke)",
                      *request.plan_name)});
    }
    auto found = scenarios::find_named_plan(impl_->options.plans_dirs, *request.plan_name);
    if (found) plan = scenarios::load_plan_file(*found);
    if (!found || !plan) return std::unexpected(bad_request("plan", found ? plan.error() : found.error()));
    // Stored with the run as written, so a resume or a re-gate reads the same plan.
    std::ifstream file(*found, std::ios::binary);
    std::ostringstream read;
    read << file.rdbuf();
    text = read.str();
  } else {
    text = *request.plan_yaml;
    plan = scenarios::parse_plan(text, "<request>");
    if (!plan) return std::unexpected(bad_request("plan_yaml", plan.error()));
  }
  // The bounds of a run, checked before anything is stored: as `gpusoak soak` checks them.
  auto scaled = scenarios::scale_for_run(*plan, request.time_scale);
  if (!scaled) return std::unexpected(bad_request("time_scale", scaled.error()));
  auto present = impl_->devices_present();
  if (!present) {
    return std::unexpected(
        request_error{error_kind::internal, fmt::format("listing EGL devices: {}", present.error().message)});
  }
  if (auto devices = scenarios::check_plan_devices(*scaled, *present); !devices) {
    return std::unexpected(bad_request(request.plan_name ? "plan" : "plan_yaml", devices.error()));
  }

  std::lock_guard lock(impl_->mutex);
  if (impl_->shutting_down)
    return std::unexpected(request_error{error_kind::unavailable, "the daemon is shutting down"});
  for (int device : scaled->devices) {
    const auto it = impl_->slots.find(device);
    if (it != impl_->slots.end() && !it->second->run_id.empty()) {
      return std::unexpected(
          request_error{error_kind::conflict,
                        fmt::format("GPU {} is busy with run {}; stop it (POST /api/v1/runs/{}/stop) or wait for it",
                                    device, it->second->run_id, it->second->run_id)});
    }
  }
  std::vector<started_run> started;
  for (int device : scaled->devices) {
    soak_options o{.context = impl_->options.context, .device_from_cli = true, .time_scale = request.time_scale};
    o.context.device_index = device;
    auto id = create_soak_run(*scaled, text, impl_->store, o);
    if (!id) return std::unexpected(request_error{id.error().kind, fmt::format("run store: {}", id.error().message)});
    spdlog::info("run={} scenario=- context=gpu{}: starting plan {} ({:.1f} s, time scale {})", *id, device,
                 scaled->name, plan_seconds(*scaled), request.time_scale);
    impl_->launch(impl_->free_slot(device), device, *id, *scaled, request.time_scale);
    started.push_back({.id = *id, .device = device});
  }
  return started;
}

request_result<void> run_manager::stop(std::string_view run_id) {
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& [device, s] : impl_->slots) {
      if (s->run_id != run_id) continue;
      s->control.request(stop_request::abort);
      s->status.stopping = true;
      spdlog::info("run={} scenario=- context=gpu{}: stop requested", run_id, device);
      return {};
    }
  }
  auto run = impl_->store.get_run(run_id);
  if (!run) return std::unexpected(request_error{run.error().kind, run.error().message});
  return std::unexpected(
      request_error{error_kind::conflict,
                    fmt::format("run '{}' is {}; only a running run can be stopped", run_id, to_string(run->state))});
}

std::optional<live_status> run_manager::live(std::string_view run_id) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& [device, s] : impl_->slots) {
    if (s->run_id == run_id) return s->status;
  }
  return std::nullopt;
}

std::vector<started_run> run_manager::active() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<started_run> out;
  for (const auto& [device, s] : impl_->slots) {
    if (!s->run_id.empty()) out.push_back({.id = s->run_id, .device = device});
  }
  return out;
}

std::optional<unstored_end> run_manager::unstored(std::string_view run_id) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->unstored.find(run_id);
  if (it == impl_->unstored.end()) return std::nullopt;
  return it->second;
}

result<std::vector<std::string>> run_manager::resume_interrupted() {
  GPUSOAK_TRY_ASSIGN(const auto recovered, impl_->store.recover_interrupted());
  for (const auto& run : recovered) {
    spdlog::warn("run={} scenario=- context=-: found running after an unclean stop; marked interrupted", run.id);
  }
  GPUSOAK_TRY_ASSIGN(const auto runs, impl_->store.interrupted_runs());
  std::vector<std::string> resumed;
  std::lock_guard lock(impl_->mutex);
  for (const auto& run : runs) {
    auto fail = [&](const std::string& why) {
      spdlog::error("run={} scenario=- context=-: cannot resume: {}", run.id, why);
      // Left interrupted when this fails: the next start tries to resume it again, and says why.
      if (auto ended = impl_->store.finish_run(run.id, run_state::could_not_run, fmt::format("cannot resume: {}", why),
                                               now_timestamp());
          !ended) {
        spdlog::error("run={} scenario=- context=-: recording that it cannot resume: {}", run.id,
                      ended.error().message);
      }
    };
    const auto device = device_of(run.device);
    if (!device) {
      fail(fmt::format("stored device '{}' names no device index", run.device));
      continue;
    }
    if (const auto it = impl_->slots.find(*device); it != impl_->slots.end() && !it->second->run_id.empty()) {
      fail(fmt::format("GPU {} already runs {}", *device, it->second->run_id));
      continue;
    }
    auto plan = scenarios::parse_plan(run.plan_text, run.plan_name);
    if (!plan) {
      fail(fmt::format("its stored plan no longer parses: {}", plan.error().message));
      continue;
    }
    auto scaled = plan->scaled(run.time_scale);
    if (!scaled) {
      fail(scaled.error().message);
      continue;
    }
    spdlog::info("run={} scenario=- context=gpu{}: resuming plan {} from t={:.1f}s", run.id, *device, run.plan_name,
                 run.last_sample_t.value_or(0));
    impl_->launch(impl_->free_slot(*device), *device, run.id, *scaled, run.time_scale);
    resumed.push_back(run.id);
  }
  return resumed;
}

void run_manager::shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->shutting_down = true;
    for (auto& [device, s] : impl_->slots) {
      if (!s->run_id.empty()) {
        spdlog::info("run={} scenario=- context=gpu{}: interrupting for shutdown", s->run_id, device);
        s->control.request(stop_request::interrupt);
      }
      if (s->worker.joinable()) workers.push_back(std::move(s->worker));
    }
  }
  for (auto& w : workers) w.join();
}

}  // namespace gpusoak::harness
