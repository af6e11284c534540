#include "gpusoak/harness/soak_runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>
#include <vector>

#include "gpusoak/scenarios/pattern.hpp"  // derive_seed
#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::harness {
namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

// Cumulative figures of one scenario name over the whole run, plus what accrued since its last
// sample.
struct scenario_totals {
  std::uint64_t iterations = 0;
  std::uint64_t copies = 0;  // context copies made while this scenario stepped
  std::uint64_t hot_path_copies = 0;
  std::uint64_t integrity_failures = 0;
  std::uint64_t oom_events = 0;
  std::uint64_t oom_recoveries = 0;
  std::uint64_t leaks = 0;
  std::uint64_t failures = 0;
  std::optional<double> fragmentation;
  std::size_t failure_events = 0;
  // Since the last sample.
  scenarios::latency_histogram interval_latency;
  std::uint64_t interval_iterations = 0;
};

struct active_scenario {
  std::string name;
  double weight = 1;
  std::unique_ptr<scenarios::scenario> impl;  // null when it could not be built or set up
  double step_seconds = 0;                    // accumulated time in step()
};

class soak_worker {
 public:
  soak_worker(const scenarios::plan& plan, run_store& store, std::string run_id, const soak_options& options)
      : plan_(plan), store_(store), run_id_(std::move(run_id)), options_(options) {}

  // Returns an empty string when every phase ran, else why the run could not go on.
  std::string run() {
    gpu::context_options ctx_options = options_.context;
    if (!options_.device_from_cli) ctx_options.device_index = plan_.devices.front();
    auto ctx = gpu::context::create(ctx_options);
    if (!ctx) {
      const std::string reason =
          fmt::format("no GL 4.5 context on device {}: {}", ctx_options.device_index, ctx.error().message);
      (void)store_.append_event(run_id_, {.t_seconds = 0, .level = "error", .scenario = "", .message = reason});
      return reason;
    }
    ctx_ = ctx->get();
    run_start_ = clock_type::now();
    for (std::size_t i = 0; i < plan_.phases.size(); ++i) {
      if (auto reason = run_phase(i, plan_.phases[i]); !reason.empty()) return reason;
    }
    return {};
  }

 private:
  double run_t() const { return std::chrono::duration<double>(clock_type::now() - run_start_).count(); }

  std::string check(const gpu::result<void>& r, std::string_view what) {
    if (r) return {};
    return fmt::format("run store: {}: {}", what, r.error().message);
  }

  void record_failure(const std::string& scenario, const std::string& reason) {
    auto& totals = totals_[scenario];
    if (totals.failure_events < options_.max_failure_events) {
      (void)store_.append_event(run_id_,
                                {.t_seconds = run_t(), .level = "error", .scenario = scenario, .message = reason});
    } else if (totals.failure_events == options_.max_failure_events) {
      (void)store_.append_event(run_id_,
                                {.t_seconds = run_t(),
                                 .level = "warn",
                                 .scenario = scenario,
                                 .message = fmt::format("more failures; only the first {} are stored as events",
                                                        options_.max_failure_events)});
    }
    ++totals.failure_events;
  }

  void absorb(const std::string& scenario, const scenarios::step_result& r, std::uint64_t copies) {
    auto& t = totals_[scenario];
    t.iterations += r.iterations;
    t.copies += copies;
    t.hot_path_copies += r.hot_path_copies;
    t.integrity_failures += r.integrity_failures;
    t.oom_events += r.oom_events;
    t.oom_recoveries += r.oom_recoveries;
    t.leaks += r.leaks;
    t.failures += r.failures.size() + r.failures_dropped;
    if (r.fragmentation) t.fragmentation = r.fragmentation;
    t.interval_latency.merge(r.latency);
    t.interval_iterations += r.iterations;
    for (const auto& reason : r.failures) record_failure(scenario, reason);
  }

  std::string append_samples(const std::vector<std::string>& names) {
    const auto snap = ctx_->counters().snapshot();
    const double t = run_t();
    const std::int64_t rss = rss_bytes();
    for (const auto& name : names) {
      auto& tot = totals_[name];
      nlohmann::json extra{
          {"copies_total{path=\"hot\"}", tot.hot_path_copies},
          {"integrity_failures_total", tot.integrity_failures},
          {"oom_events_total", tot.oom_events},
          {"oom_recoveries_total", tot.oom_recoveries},
          {"scenario_failures_total", tot.failures},
          {"errors_total", tot.failures},
          {"leaks_total", tot.leaks},
          {"scenario_iterations_total", tot.iterations},
      };
      if (tot.fragmentation) extra["fragmentation_ratio"] = *tot.fragmentation;
      const sample s{
          .t_seconds = t,
          .scenario = name,
          .context = ctx_->name(),
          .live_buffers = static_cast<std::int64_t>(snap.live_buffers),
          .live_bytes = static_cast<std::int64_t>(snap.live_bytes),
          .rss_bytes = rss,
          .copies_total = static_cast<std::int64_t>(tot.copies),
          .errors_total = static_cast<std::int64_t>(tot.failures),
          .latency_p50_seconds = tot.interval_latency.quantile(0.50),
          .latency_p90_seconds = tot.interval_latency.quantile(0.90),
          .latency_p99_seconds = tot.interval_latency.quantile(0.99),
          .iterations = static_cast<std::int64_t>(tot.interval_iterations),
          .extra_json = extra.dump(),
      };
      if (auto err = check(store_.append_sample(run_id_, s), "append_sample"); !err.empty()) return err;
      tot.interval_latency = {};
      tot.interval_iterations = 0;
    }
    return {};
  }

  std::string run_phase(std::size_t index, const scenarios::phase& ph) {
    const auto idx = static_cast<std::int64_t>(index);
    if (auto err = check(store_.record_phase_start(run_id_, idx, ph.name, now_timestamp()), "record_phase_start");
        !err.empty()) {
      return err;
    }
    std::vector<active_scenario> active;
    std::vector<std::string> names;  // unique, in plan order
    for (std::size_t e = 0; e < ph.scenarios.size(); ++e) {
      const auto& entry = ph.scenarios[e];
      if (std::find(names.begin(), names.end(), entry.name) == names.end()) names.push_back(entry.name);
      totals_[entry.name];  // present even when it never steps
      active_scenario a{.name = entry.name, .weight = entry.weight, .impl = nullptr, .step_seconds = 0};
      const std::uint64_t seed = scenarios::derive_seed(options_.seed, (index << 16) | e);
      auto made = scenarios::make_scenario(entry.name, entry.params, seed);
      if (!made) {
        ++totals_[entry.name].failures;
        record_failure(entry.name, fmt::format("could not build (plan line {}): {}", entry.line, made.error().message));
      } else if (auto ok = (*made)->setup(*ctx_); !ok) {
        ++totals_[entry.name].failures;
        record_failure(entry.name, fmt::format("setup failed: {}", ok.error().message));
      } else {
        a.impl = std::move(*made);
      }
      active.push_back(std::move(a));
    }

    const double duration = std::chrono::duration<double>(ph.duration).count();
    const double interval = std::chrono::duration<double>(plan_.sample_interval).count();
    const auto phase_start = clock_type::now();
    auto phase_elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - phase_start).count(); };
    double next_sample = interval;
    std::string error;
    const bool any_runnable =
        std::any_of(active.begin(), active.end(), [](const auto& a) { return a.impl != nullptr; });
    while (error.empty()) {
      const double elapsed = phase_elapsed();
      if (elapsed >= duration) break;
      if (elapsed >= next_sample) {
        error = append_samples(names);
        print_progress(index, ph, elapsed, duration, names);
        while (next_sample <= elapsed) next_sample += interval;  // a long step skips missed ticks
        continue;
      }
      if (!any_runnable) {
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(next_sample, duration) - elapsed));
        continue;
      }
      // The runnable scenario furthest behind its weighted share.
      active_scenario* next = nullptr;
      for (auto& a : active) {
        if (a.impl && (next == nullptr || a.step_seconds / a.weight < next->step_seconds / next->weight)) next = &a;
      }
      const auto copies_before = ctx_->counters().snapshot().total_copies();
      const auto step_start = clock_type::now();
      const auto result = next->impl->step(*ctx_);
      next->step_seconds += std::chrono::duration<double>(clock_type::now() - step_start).count();
      absorb(next->name, result, ctx_->counters().snapshot().total_copies() - copies_before);
    }

    bool phase_failed = false;
    for (auto& a : active) {
      if (!a.impl) continue;
      const auto copies_before = ctx_->counters().snapshot().total_copies();
      const auto result = a.impl->teardown(*ctx_);
      absorb(a.name, result, ctx_->counters().snapshot().total_copies() - copies_before);
      a.impl.reset();
    }
    if (error.empty()) {
      error = append_samples(names);
      print_progress(index, ph, std::min(phase_elapsed(), duration), duration, names);
    }
    for (const auto& name : names) {
      const auto& t = totals_[name];
      if (t.failures > failures_at_phase_start(name)) phase_failed = true;
    }
    for (const auto& name : names) phase_failure_base_[name] = totals_[name].failures;
    const auto state = !error.empty() ? phase_state::aborted : phase_failed ? phase_state::failed : phase_state::passed;
    if (auto err = check(store_.record_phase_end(run_id_, idx, state, now_timestamp()), "record_phase_end");
        error.empty()) {
      error = err;
    }
    return error;
  }

  std::uint64_t failures_at_phase_start(const std::string& name) const {
    const auto it = phase_failure_base_.find(name);
    return it == phase_failure_base_.end() ? 0 : it->second;
  }

  void print_progress(std::size_t index, const scenarios::phase& ph, double elapsed, double duration,
                      const std::vector<std::string>& names) {
    if (options_.progress == nullptr) return;
    std::uint64_t iterations = 0;
    std::uint64_t failures = 0;
    for (const auto& [name, t] : totals_) {
      failures += t.failures;
      if (std::find(names.begin(), names.end(), name) != names.end()) iterations += t.iterations;
    }
    *options_.progress << fmt::format("[{}/{} {}] {:.1f}s/{:.1f}s  iterations {}  failures {}\n", index + 1,
                                      plan_.phases.size(), ph.name, elapsed, duration, iterations, failures);
    options_.progress->flush();
  }

  const scenarios::plan& plan_;
  run_store& store_;
  std::string run_id_;
  const soak_options& options_;
  gpu::context* ctx_ = nullptr;
  clock_type::time_point run_start_{};
  std::map<std::string, scenario_totals> totals_;
  std::map<std::string, std::uint64_t> phase_failure_base_;
};

}  // namespace

gpu::result<soak_outcome> run_soak(const scenarios::plan& plan, std::string_view plan_text, run_store& store,
                                   const soak_options& options) {
  const int device = options.device_from_cli ? options.context.device_index : plan.devices.front();
  auto id = store.create_run({.plan_name = plan.name,
                              .plan_text = std::string(plan_text),
                              .device = fmt::format("{}:{}", gpu::to_string(options.context.which), device),
                              .time_scale = options.time_scale,
                              .created_at = now_timestamp()});
  if (!id) return std::unexpected(id.error());
  if (auto ok = store.mark_running(*id, now_timestamp()); !ok) return std::unexpected(ok.error());

  soak_outcome outcome;
  outcome.run_id = *id;
  std::string failure;
  std::thread worker([&] {
    try {
      soak_worker w(plan, store, *id, options);
      failure = w.run();
    } catch (const std::exception& e) {
      failure = fmt::format("the soak worker stopped: {}", e.what());
    } catch (...) {
      failure = "the soak worker stopped on an unknown exception";
    }
  });
  worker.join();

  if (failure.empty()) {
    auto report = run_gate(store, *id, plan.thresholds, {});
    if (!report) {
      failure = fmt::format("gate: {}", report.error().message);
    } else {
      outcome.exit_code = report->exit_code();
      const auto failed = report->count(gate_status::failed);
      const auto no_data = report->count(gate_status::no_data);
      if (outcome.exit_code == gate_exit_pass) {
        outcome.state = run_state::passed;
        outcome.reason = fmt::format("gate: all {} thresholds passed", report->rows.size());
      } else if (outcome.exit_code == gate_exit_fail) {
        outcome.state = run_state::failed;
        outcome.reason = fmt::format("gate: {} of {} thresholds failed", failed, report->rows.size());
      } else {
        outcome.exit_code = gate_exit_could_not_run;
        outcome.state = run_state::could_not_run;
        outcome.reason = report->rows.empty() ? std::string("gate: the plan has no thresholds")
                                              : fmt::format("gate: {} thresholds had no data", no_data);
      }
      outcome.report = std::move(*report);
    }
  }
  if (!failure.empty()) {
    outcome.exit_code = gate_exit_could_not_run;
    outcome.state = run_state::could_not_run;
    outcome.reason = failure;
  }
  if (auto ok = store.finish_run(*id, outcome.state, outcome.reason, now_timestamp()); !ok) {
    return std::unexpected(ok.error());
  }
  return outcome;
}

}  // namespace gpusoak::harness
