#include "soak_worker.hpp"

#include "gpusoak/harness/process_memory.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <ostream>
#include <set>
#include <thread>

#include "gpusoak/buffers/memory_usage.hpp"
#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/harness/sample_histogram.hpp"
#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/pattern.hpp"  // derive_seed

namespace gpusoak::harness::detail {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds(std::chrono::microseconds d) {
  return std::chrono::duration<double>(d).count();
}

// Plan time at which each phase starts; one more entry: the plan's end.
std::vector<double> phase_offsets(const scenarios::plan& plan) {
  std::vector<double> offsets{0};
  for (const auto& ph : plan.phases) offsets.push_back(offsets.back() + seconds(ph.duration));
  return offsets;
}

// The phase plan time t falls in (phases.size() when the plan is done). A phase's last samples
// carry its end time, which is where the next one starts.
std::size_t phase_at(const std::vector<double>& offsets, double t) {
  std::size_t i = 0;
  while (i + 1 < offsets.size() && t >= offsets[i + 1]) ++i;
  return i;
}

struct active_scenario {
  std::string name;
  std::size_t entry = 0;  // index in the phase's scenario list (seeds derive from it)
  double weight = 1;
  std::unique_ptr<scenarios::scenario> impl;  // null when it could not be built or set up
  double step_seconds = 0;                    // accumulated time in step()
  bool stepped = false;                       // stepped at least once in this phase
  bool injected = false;                      // options.inject applied (once)
  std::size_t placements_seen = 0;            // impl->strategies() already recorded
};

class soak_worker {
 public:
  soak_worker(const scenarios::plan& plan, run_store& store, std::string run_id, const soak_options& options,
              const resume_point& from)
      : plan_(plan),
        store_(store),
        run_id_(std::move(run_id)),
        options_(options),
        offsets_(phase_offsets(plan)),
        resume_t_(from.t),
        totals_(from.totals),
        phase_failure_base_(from.failures_before_phase) {}

  worker_result run() {
    auto ended_by = [](error e) { return worker_result{.failure = std::move(e)}; };
    if (auto made = make_context(); !made) return ended_by(std::move(made).error());
    const std::size_t first = phase_at(offsets_, resume_t_);
    if (auto closed = close_skipped_phases(first); !closed) return ended_by(std::move(closed).error());
    for (std::size_t i = first; i < plan_.phases.size(); ++i) {
      const double skip = i == first ? std::max(0.0, resume_t_ - offsets_[i]) : 0.0;
      // A resume that lands on a phase boundary skips nothing of that phase, and is still a resume.
      const bool resumed = i == first && resume_t_ > 0;
      if (auto ran = run_phase(i, plan_.phases[i], skip, resumed); !ran) return ended_by(std::move(ran).error());
      if (stopped_ != stop_request::none) return {.stopped = stopped_};
    }
    return {};
  }

 private:
  result<void> make_context() {
    gpu::context_options ctx_options = options_.context;
    if (!options_.device_from_cli) ctx_options.device_index = plan_.devices.front();
    ctx_.reset();
    auto ctx = gpu::context::create(ctx_options);
    if (!ctx) {
      const std::string reason =
          fmt::format("no GL 4.5 context on device {}: {}", ctx_options.device_index, ctx.error().message);
      // Dropped on failure: the reason is returned and becomes the run's verdict reason.
      (void)store_.append_event(run_id_, {.t_seconds = t_, .level = "error", .scenario = "", .message = reason});
      return make_error(ctx.error().kind, reason);
    }
    ctx_ = std::move(*ctx);
    if (options_.observer != nullptr) options_.observer->on_context(*ctx_);
    return record_context();
  }

  // What the run ran on (run_store's provenance): its first context is recorded; a later one (a
  // resume, perhaps by a daemon started with another --disable, or on another driver) that differs
  // leaves a warn event naming the difference.
  result<void> record_context() {
    const auto& caps = ctx_->caps();
    context_facts facts{.mask = caps.masked,
                        .gl_vendor = caps.vendor,
                        .gl_renderer = caps.renderer,
                        .gl_version = caps.version,
                        .vendor_class = std::string(gpu::to_string(caps.vendor_kind))};
    for (auto u : gpu::all_usages) {
      facts.usage_strategies.push_back({.subject = strategy_subject::usage,
                                        .name = std::string(gpu::to_string(u)),
                                        .strategy = std::string(gpu::to_string(gpu::choose_strategy(caps, u)))});
    }
    if (context_ == facts) return {};  // a watchdog rebuild of the same context
    auto recorded = store_.record_context(run_id_, facts);
    if (!recorded) return in_store(std::move(recorded).error(), "record_context");
    context_ = facts;
    if (*recorded) return {};
    auto run = store_.get_run(run_id_);
    if (!run) return in_store(std::move(run).error(), "get_run");
    const auto& first = run->provenance;
    std::string differences;
    const auto differ = [&](std::string_view what, const std::string& now, const std::string& then) {
      if (now != then)
        differences +=
            fmt::format("{}{} '{}' (the run started with '{}')", differences.empty() ? "" : "; ", what, now, then);
    };
    differ("mask", facts.mask, first.mask.value_or(""));
    differ("renderer", facts.gl_renderer, first.gl_renderer);
    differ("GL version", facts.gl_version, first.gl_version);
    for (const auto& s : facts.usage_strategies) {
      const auto it = std::ranges::find_if(first.strategies, [&](const strategy_record& r) {
        return r.subject == strategy_subject::usage && r.name == s.name;
      });
      differ(s.name, s.strategy, it == first.strategies.end() ? std::string() : it->strategy);
    }
    if (differences.empty()) return {};
    const std::string message = fmt::format("this context differs from the run's first: {}", differences);
    spdlog::warn("run={} scenario=- context={}: {}", run_id_, ctx_->name(), message);
    return check(store_.append_event(run_id_, {.t_seconds = t_, .level = "warn", .scenario = "", .message = message}),
                 "append_event");
  }

  // Scenario strategies first seen since the last sample (record_strategies), stored with it.
  result<void> store_new_strategies() {
    for (const auto& [scenario, strategy] : strategies_unstored_) {
      GPUSOAK_TRY(check(store_.record_scenario_strategy(run_id_, scenario, strategy), "record_scenario_strategy"));
    }
    strategies_unstored_.clear();
    return {};
  }

  // Phases before the resume point that a kill left without an outcome (it came between their
  // last sample and their end record): closed now, failed when an error was stored in them.
  result<void> close_skipped_phases(std::size_t first) {
    if (first == 0) return {};
    auto stored = store_.phases(run_id_);
    if (!stored) return in_store(std::move(stored).error(), "phases");
    auto events = store_.events(run_id_);
    if (!events) return in_store(std::move(events).error(), "events");
    for (const auto& ph : *stored) {
      const auto i = static_cast<std::size_t>(ph.index);
      if (i >= first || (ph.state != phase_state::interrupted && ph.state != phase_state::running)) continue;
      const bool failed = std::ranges::any_of(*events, [&](const event& e) {
        return e.level == "error" && e.t_seconds >= offsets_[i] && e.t_seconds <= offsets_[i + 1];
      });
      GPUSOAK_TRY(check(store_.record_phase_start(run_id_, ph.index, ph.name, ph.started_at), "record_phase_start"));
      GPUSOAK_TRY(check(store_.record_phase_end(run_id_, ph.index, failed ? phase_state::failed : phase_state::passed,
                                                now_timestamp()),
                        "record_phase_end"));
    }
    return {};
  }

  // A run store call's failure as the worker reports it: its kind kept (out_of_space leaves the run
  // resumable), the message naming the call.
  static std::unexpected<error> in_store(error e, std::string_view what) {
    return make_error(e.kind, fmt::format("run store: {}: {}", what, e.message));
  }
  static result<void> check(result<void> r, std::string_view what) {
    if (r) return {};
    return in_store(std::move(r).error(), what);
  }

  void record_failure(const std::string& scenario, const std::string& reason) {
    auto& totals = totals_[scenario];
    spdlog::warn("run={} scenario={} context={}: {}", run_id_, scenario, ctx_ ? ctx_->name() : "-", reason);
    // Events are a record of what the totals already count (failures, and the phase verdict from
    // them): a failed append loses a line, not a failure. A full disk stops the run at its next
    // sample, whose append is checked.
    if (totals.failure_events < options_.max_failure_events) {
      (void)store_.append_event(run_id_, {.t_seconds = t_, .level = "error", .scenario = scenario, .message = reason});
    } else if (totals.failure_events == options_.max_failure_events) {
      (void)store_.append_event(run_id_,
                                {.t_seconds = t_,
                                 .level = "warn",
                                 .scenario = scenario,
                                 .message = fmt::format("more failures; only the first {} are stored as events",
                                                        options_.max_failure_events)});
    }
    ++totals.failure_events;
  }

  // Folds one step's (or teardown's) result and what the context's counters moved by since
  // `before` into the scenario's totals.
  void absorb(const std::string& scenario, const scenarios::step_result& r, const gpu::counters_snapshot& before) {
    auto& t = totals_[scenario];
    add_counters(t, before, ctx_->counters().snapshot());
    t.iterations += r.iterations;
    t.hot_path_copies += r.hot_path_copies;
    t.integrity_failures += r.integrity_failures;
    t.oom_events += r.oom_events;
    t.oom_recoveries += r.oom_recoveries;
    t.leaks += r.leaks;
    t.failures += r.failures.size() + r.failures_dropped;
    if (r.fragmentation) t.fragmentation = r.fragmentation;
    t.fragmentation_refusals += r.fragmentation_refusals;
    t.interval_latency.merge(r.latency);
    t.interval_iterations += r.iterations;
    for (const auto& reason : r.failures) record_failure(scenario, reason);
    if (options_.observer != nullptr) options_.observer->on_step(scenario, r);
  }

  // The memory a sample stores. It is read between steps: a step runs whole iterations and frees
  // what they used for themselves before it returns, so what is live there is what persists across
  // iterations (the scenarios' working sets, and anything leaked), the series a leak slope is
  // fitted on. Read mid-iteration it would swing with where in an iteration the sample fell.
  struct memory_reading {
    std::uint64_t live_buffers = 0;
    std::uint64_t live_bytes = 0;
    std::int64_t rss_bytes = 0;
    std::optional<std::uint64_t> gpu_memory_used;  // where the driver reports it (memory_usage.hpp)
  };
  memory_reading read_memory() const {
    const auto snap = ctx_->counters().snapshot();
    return {.live_buffers = snap.live_buffers,
            .live_bytes = snap.live_bytes,
            .rss_bytes = resident_bytes(),
            .gpu_memory_used = gpu::gpu_memory_used_bytes(ctx_->caps())};
  }

  // One sample per scenario of phase `phase`, with `memory` read at a step boundary (read_memory).
  result<void> append_samples(std::size_t phase, const std::vector<std::string>& names, const memory_reading& memory) {
    GPUSOAK_TRY(store_new_strategies());
    const auto snap = ctx_->counters().snapshot();
    std::vector<sample> stored;
    for (const auto& name : names) {
      auto& tot = totals_[name];
      sample s{
          .t_seconds = t_,
          .scenario = name,
          .context = ctx_->name(),
          .live_buffers = static_cast<std::int64_t>(memory.live_buffers),
          .live_bytes = static_cast<std::int64_t>(memory.live_bytes),
          .rss_bytes = memory.rss_bytes,
          .copies_total = static_cast<std::int64_t>(tot.copies),
          .errors_total = static_cast<std::int64_t>(tot.failures),
          .latency_p50_seconds = tot.interval_latency.quantile(0.50),
          .latency_p90_seconds = tot.interval_latency.quantile(0.90),
          .latency_p99_seconds = tot.interval_latency.quantile(0.99),
          .iterations = static_cast<std::int64_t>(tot.interval_iterations),
          .extra_json = totals_json(tot, name, t_ / std::max(offsets_.back(), 1e-9), memory.gpu_memory_used),
          .phase = static_cast<std::int64_t>(phase),
      };
      GPUSOAK_TRY(check(store_.append_sample(run_id_, s), "append_sample"));
      stored.push_back(std::move(s));
      tot.interval_latency = {};
      tot.interval_fence_wait = {};
      tot.interval_iterations = 0;
    }
    if (options_.observer != nullptr) options_.observer->on_samples(stored, snap);
    return {};
  }

  // Stores, once per run, each placement a scenario's buffers got (the decision matrix's choice
  // under the context's mask): "conv2d_steady: strategy staging_copy (stream_to_gpu)" says which
  // fallback a masked run ran on. Also printed with the progress lines.
  void record_strategies(active_scenario& a) {
    const auto& placements = a.impl->strategies();
    for (; a.placements_seen < placements.size(); ++a.placements_seen) {
      const auto& p = placements[a.placements_seen];
      // The run's provenance keeps each scenario's strategies (stored with the next sample).
      std::pair<std::string, std::string> used{a.name, std::string(gpu::to_string(p.strategy))};
      if (strategies_seen_.insert(used).second) strategies_unstored_.push_back(std::move(used));
      std::string message =
          fmt::format("{}: strategy {} ({})", a.name, gpu::to_string(p.strategy), gpu::to_string(p.use));
      if (!strategies_recorded_.insert(message).second) continue;
      spdlog::info("run={} scenario={} context={}: {}", run_id_, a.name, ctx_->name(), message);
      if (options_.progress != nullptr) *options_.progress << message << '\n';
      // Informational: the strategy itself is stored with the next sample (store_new_strategies, checked).
      (void)store_.append_event(run_id_, {.t_seconds = t_, .level = "info", .scenario = a.name, .message = message});
    }
  }

  // Builds and sets up one plan entry; a failure is recorded and leaves impl null.
  void start_scenario(std::size_t phase_index, const scenarios::phase& ph, active_scenario& a) {
    const auto& entry = ph.scenarios[a.entry];
    const std::uint64_t seed = scenarios::derive_seed(options_.seed, (phase_index << 16) | a.entry);
    auto made = scenarios::make_scenario(entry.name, entry.params, seed);
    const auto before = ctx_->counters().snapshot();
    if (!made) {
      ++totals_[entry.name].failures;
      record_failure(entry.name, fmt::format("could not build (plan line {}): {}", entry.line, made.error().message));
    } else if (auto ok = (*made)->setup(*ctx_); !ok) {
      ++totals_[entry.name].failures;
      record_failure(entry.name, fmt::format("setup failed: {}", ok.error().message));
    } else {
      a.impl = std::move(*made);
      a.placements_seen = 0;
      record_strategies(a);
      if (!a.injected) {
        for (const auto& [name, f] : options_.inject) {
          // A scenario that does not support the fault ignores it; the test that planted it checks the outcome.
          if (name == a.name) (void)a.impl->inject(f);
        }
        a.injected = true;
      }
    }
    add_counters(totals_[entry.name], before, ctx_->counters().snapshot());  // set-up's buffers are the scenario's
  }

  // The watchdog: the GPU stopped answering. The scenarios' objects go with the old context; a
  // new one is made and the scenarios set up again (same seeds).
  result<void> rebuild_context(std::size_t phase_index, const scenarios::phase& ph,
                               std::vector<active_scenario>& active, const std::string& scenario) {
    const std::string reason = fmt::format(
        "watchdog: the GPU stopped answering in {} (a fence wait passed its bound); context {} rebuilt and the "
        "phase's scenarios set up again",
        scenario, ctx_->name());
    spdlog::error("run={} scenario={} context={}: {}", run_id_, scenario, ctx_->name(), reason);
    // Logged above and counted in watchdog_timeouts; a failed append loses the line only.
    (void)store_.append_event(run_id_, {.t_seconds = t_, .level = "error", .scenario = scenario, .message = reason});
    ++totals_[scenario].watchdog_timeouts;
    if (options_.observer != nullptr) options_.observer->on_watchdog(reason);
    for (auto& a : active) a.impl.reset();
    GPUSOAK_TRY(make_context());
    for (auto& a : active) start_scenario(phase_index, ph, a);
    return {};
  }

  // One phase: begun (stored, resumed, announced), its scenarios set up, stepped until it ends
  // (step_phase), torn down and its outcome stored (end_phase). An error ends the run.
  result<void> run_phase(std::size_t index, const scenarios::phase& ph, double skip, bool resumed) {
    GPUSOAK_TRY(begin_phase(index, ph, skip, resumed));
    phase_run run{.index = index, .ph = ph, .offset = offsets_[index], .skip = skip};
    for (std::size_t e = 0; e < ph.scenarios.size(); ++e) {
      const auto& entry = ph.scenarios[e];
      if (std::ranges::find(run.names, entry.name) == run.names.end()) run.names.push_back(entry.name);
      totals_[entry.name];  // present even when it never steps
      run.active.push_back(
          {.name = entry.name, .entry = e, .weight = entry.weight, .impl = nullptr, .step_seconds = 0});
      start_scenario(index, ph, run.active.back());
    }
    run.started = clock_type::now();  // set-up time is not the phase's
    const phase_end end = step_phase(run);
    return end_phase(run, end);
  }

  // How a phase's stepping ended: the one place its stored outcome and the run's next move come from.
  enum class phase_end {
    ran_to_end,    // its duration passed and every scenario that could be set up stepped
    stopped,       // a stop request (abort): the phase ends aborted, and the run with it
    interrupted,   // the daemon is shutting down: the phase stays open and a resume restarts it
    out_of_space,  // a store write failed for lack of space: the phase stays open (resumable)
    failed,        // a store write or a context rebuild failed: the phase ends aborted, the run fails
  };

  // A phase being run: its place in the plan and its scenarios.
  struct phase_run {
    std::size_t index = 0;
    const scenarios::phase& ph;
    double offset = 0;  // plan time at the phase's start
    double skip = 0;    // seconds of it a resume skips
    std::vector<active_scenario> active;
    std::vector<std::string> names;  // unique, in plan order
    std::optional<error> failure;    // why it ended failed or out_of_space
    clock_type::time_point started;
    // Seconds of the phase done: the skipped part plus what ran since `started`, at most its duration.
    [[nodiscard]] double elapsed() const {
      return std::min(seconds(ph.duration), skip + std::chrono::duration<double>(clock_type::now() - started).count());
    }
  };

  result<void> begin_phase(std::size_t index, const scenarios::phase& ph, double skip, bool resumed) {
    t_ = offsets_[index] + skip;
    GPUSOAK_TRY(check(store_.record_phase_start(run_id_, static_cast<std::int64_t>(index), ph.name, now_timestamp()),
                      "record_phase_start"));
    if (resumed) {
      const std::string message = fmt::format("resumed at t={:.1f}s: phase {} '{}', {:.1f}s of {:.1f}s already done",
                                              t_, index + 1, ph.name, skip, seconds(ph.duration));
      spdlog::info("run={} scenario=- context={}: {}", run_id_, ctx_->name(), message);
      GPUSOAK_TRY(
          check(store_.append_event(run_id_, {.t_seconds = t_, .level = "info", .message = message}), "append_event"));
    }
    if (options_.observer != nullptr) options_.observer->on_phase(index, ph, t_);
    spdlog::info("run={} scenario=- context={}: phase {}/{} '{}' ({:.1f}s)", run_id_, ctx_->name(), index + 1,
                 plan_.phases.size(), ph.name, seconds(ph.duration) - skip);
    return {};
  }

  // The sample clock and the scheduler: samples every interval, and between them steps the runnable
  // scenario furthest behind its weighted share, until the phase ends.
  phase_end step_phase(phase_run& run) {
    const double duration = seconds(run.ph.duration);
    const double interval = seconds(plan_.sample_interval);
    double next_sample = run.skip + interval;
    while (true) {
      if (options_.control != nullptr && options_.control->requested() != stop_request::none) {
        stopped_ = options_.control->requested();
        return stopped_ == stop_request::interrupt ? phase_end::interrupted : phase_end::stopped;
      }
      const double elapsed = run.elapsed();
      t_ = run.offset + elapsed;
      // The phase ends at its duration, but not before each scenario that could be set up has
      // stepped once: where the first steps take longer than the phase (a slow GPU, a loaded
      // machine, a sanitizer build) the last ones in the plan would otherwise do no work at all
      // and still pass. Seen: smoke at --time-scale 0.05 under TSan, leak_cycle never stepped.
      const bool past_end = elapsed >= duration;
      if (past_end && std::ranges::none_of(run.active, [](const active_scenario& a) { return a.impl && !a.stepped; })) {
        return phase_end::ran_to_end;
      }
      if (!past_end && elapsed >= next_sample) {  // past the end, the phase's last sample follows
        if (auto appended = append_samples(run.index, run.names, read_memory()); !appended) {
          return failed(run, std::move(appended).error());
        }
        print_progress(run.index, run.ph, elapsed, duration, run.names);
        while (next_sample <= elapsed) next_sample += interval;  // a long step skips missed ticks
        continue;
      }
      active_scenario* next = next_to_step(run.active, past_end);
      if (next == nullptr) {
        // Nothing runnable: wait for the next sample, a stop, or the end, in short naps.
        const double until = std::min(next_sample, duration) - elapsed;
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(until, 0.05)));
        continue;
      }
      const auto before = ctx_->counters().snapshot();
      const auto step_start = clock_type::now();
      const auto result = next->impl->step(*ctx_);
      next->step_seconds += std::chrono::duration<double>(clock_type::now() - step_start).count();
      next->stepped = true;
      t_ = run.offset + run.elapsed();
      record_strategies(*next);
      absorb(next->name, result, before);
      if (result.context_lost) {
        auto rebuilt = rebuild_context(run.index, run.ph, run.active, next->name);
        if (!rebuilt) return failed(run, std::move(rebuilt).error());
      }
    }
  }

  // Keeps the error that ended the phase; a full disk leaves it open (resumable), anything else aborts it.
  static phase_end failed(phase_run& run, error e) {
    const bool no_space = e.kind == error_kind::out_of_space;
    run.failure = std::move(e);
    return no_space ? phase_end::out_of_space : phase_end::failed;
  }

  // The runnable scenario furthest behind its weighted share of step time; past the phase's end,
  // only those that have not stepped yet.
  static active_scenario* next_to_step(std::vector<active_scenario>& active, bool past_end) {
    active_scenario* next = nullptr;
    for (auto& a : active) {
      if (!a.impl || (past_end && a.stepped)) continue;
      if (next == nullptr || a.step_seconds / a.weight < next->step_seconds / next->weight) next = &a;
    }
    return next;
  }

  // Tears the scenarios down, stores the phase's last sample and its outcome. An error ends the run.
  result<void> end_phase(phase_run& run, phase_end end) {
    // The phase's last sample shows its working set at its last step, not after the teardown that
    // releases it: a drop to near zero at the end of every phase would drag a short phase's leak
    // slope negative and hide a leak in it.
    const memory_reading last_step = read_memory();
    for (auto& a : run.active) {
      if (!a.impl) continue;
      const auto before = ctx_->counters().snapshot();
      const auto result = a.impl->teardown(*ctx_);
      absorb(a.name, result, before);
      a.impl.reset();
    }
    // An interrupted phase resumes at the last step's end, not after its teardown.
    if (end != phase_end::interrupted) t_ = run.offset + run.elapsed();
    const double duration = seconds(run.ph.duration);
    if (end != phase_end::failed && end != phase_end::out_of_space) {
      if (auto appended = append_samples(run.index, run.names, last_step); !appended) {
        end = failed(run, std::move(appended).error());
      } else {
        print_progress(run.index, run.ph, run.elapsed(), duration, run.names);
      }
    }
    bool scenarios_failed = false;
    for (const auto& name : run.names) {
      if (totals_[name].failures > failures_at_phase_start(name)) scenarios_failed = true;
    }
    phase_state state = phase_state::passed;
    switch (end) {
      // Left open: mark_interrupted closes it and a resume restarts it; after a full disk, a resume
      // restarts it where its samples end.
      case phase_end::interrupted: return {};
      case phase_end::out_of_space: return std::unexpected(*run.failure);
      case phase_end::stopped:
      case phase_end::failed: state = phase_state::aborted; break;
      case phase_end::ran_to_end: state = scenarios_failed ? phase_state::failed : phase_state::passed; break;
    }
    for (const auto& name : run.names) phase_failure_base_[name] = totals_[name].failures;
    auto ended = check(store_.record_phase_end(run_id_, static_cast<std::int64_t>(run.index), state, now_timestamp()),
                       "record_phase_end");
    if (run.failure) return std::unexpected(*run.failure);  // the first error is the run's reason
    return ended;
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
    *options_.progress << fmt::format("[{}/{} {}] {:.1f}s/{:.1f}s  run {:.0f}%  iterations {}  failures {}\n",
                                      index + 1, plan_.phases.size(), ph.name, elapsed, duration,
                                      100.0 * t_ / std::max(offsets_.back(), 1e-9), iterations, failures);
    options_.progress->flush();
  }

  const scenarios::plan& plan_;
  run_store& store_;
  std::string run_id_;
  const soak_options& options_;
  std::vector<double> offsets_;
  double resume_t_ = 0;
  double t_ = 0;  // plan time now
  std::unique_ptr<gpu::context> ctx_;
  std::map<std::string, scenario_totals> totals_;
  std::map<std::string, std::uint64_t> phase_failure_base_;
  std::set<std::string> strategies_recorded_;  // record_strategies(): each message once
  stop_request stopped_ = stop_request::none;
  std::optional<context_facts> context_;                           // the context recorded or compared last
  std::set<std::pair<std::string, std::string>> strategies_seen_;  // (scenario, strategy)
  std::vector<std::pair<std::string, std::string>> strategies_unstored_;
};

template <class T>
T json_number(const nlohmann::json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<T>() : fallback;
}

}  // namespace

void add_counters(scenario_totals& t, const gpu::counters_snapshot& before, const gpu::counters_snapshot& after) {
  // A reading below `before` means the context was rebuilt in between: its counters restarted.
  const auto moved = [](std::uint64_t from, std::uint64_t to) { return to >= from ? to - from : to; };
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    const auto copies = moved(before.copies[p], after.copies[p]);
    t.copies += copies;
    t.copies_by_path[p] += copies;
    t.copied_bytes_by_path[p] += moved(before.copied_bytes[p], after.copied_bytes[p]);
  }
  t.allocations += moved(before.allocations, after.allocations);
  t.frees += moved(before.frees, after.frees);
  const auto waits = moved(before.fence_waits, after.fence_waits);
  const auto wait_ns = moved(before.fence_wait_ns, after.fence_wait_ns);
  t.fence_waits += waits;
  t.fence_wait_ns += wait_ns;
  // The counters keep a count and a sum, not each wait: a step's (or set-up's) blocking waits go
  // into the histogram at their mean, which is the wait itself where a step blocks once.
  if (waits > 0) {
    const double mean = static_cast<double>(wait_ns) * 1e-9 / static_cast<double>(waits);
    for (std::uint64_t i = 0; i < waits; ++i) t.interval_fence_wait.add(mean);
  }
}

std::string totals_json(const scenario_totals& tot, std::string_view scenario, double progress,
                        std::optional<std::uint64_t> gpu_memory_used) {
  // Every figure a sample can carry, by its catalog key; the catalog picks what this scenario's
  // samples carry (metric_catalog_test checks that nothing it lists is missing here).
  nlohmann::json figures{
      {"run_progress_ratio", std::clamp(progress, 0.0, 1.0)},
      {"watchdog_timeouts_total", tot.watchdog_timeouts},
      {"allocations_total", tot.allocations},
      {"frees_total", tot.frees},
      {"fragmentation_ratio", tot.fragmentation.value_or(0.0)},
      {"fragmentation_refusals_total", tot.fragmentation_refusals},
      {"oom_events_total", tot.oom_events},
      {"oom_recoveries_total", tot.oom_recoveries},
      {"leaks_total", tot.leaks},
      {"copied_bytes_total",
       std::accumulate(tot.copied_bytes_by_path.begin(), tot.copied_bytes_by_path.end(), std::uint64_t{0})},
      {"scenario_iterations_total", tot.iterations},
      {"scenario_failures_total", tot.failures},
      {"integrity_failures_total", tot.integrity_failures},
      {"fence_waits_total", tot.fence_waits},
      {"fence_wait_seconds_total", static_cast<double>(tot.fence_wait_ns) * 1e-9},
  };
  // The intervals' log histograms (sample_histogram.hpp), so the gate can merge a run's samples
  // into quantiles within 1%.
  const auto add_histogram = [&](std::string_view key, const scenarios::latency_histogram& h) {
    figures[fmt::format("{}_hist", key)] = log_histogram_json(h.fine);
    figures[fmt::format("{}_sum_seconds", key)] = h.sum_seconds;
    figures[fmt::format("{}_max_seconds", key)] = h.max_seconds;
  };
  add_histogram("latency", tot.interval_latency);
  add_histogram("fence_wait", tot.interval_fence_wait);
  // Series by copy path, keyed by their threshold text.
  figures["copies_total{path=\"hot\"}"] = tot.hot_path_copies;
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    const auto path = gpu::to_string(static_cast<gpu::copy_path>(p));
    figures[fmt::format("copies_total{{path=\"{}\"}}", path)] = tot.copies_by_path[p];
    figures[fmt::format("copied_bytes_total{{path=\"{}\"}}", path)] = tot.copied_bytes_by_path[p];
  }
  nlohmann::json extra = nlohmann::json::object();
  for (const auto& metric : scenarios::metric_catalog) {
    if (!scenarios::produced_by(metric, scenario)) continue;
    std::vector<std::string> keys;
    if (metric.storage == scenarios::sample_storage::extra) keys.emplace_back(metric.key);
    if (metric.storage == scenarios::sample_storage::buckets) {
      for (const char* part : {"_hist", "_sum_seconds", "_max_seconds"})
        keys.push_back(fmt::format("{}{}", metric.key, part));
    }
    for (const auto& key : keys) {
      if (figures.contains(key)) extra[key] = figures[key];
    }
    if (!scenarios::list_has(metric.labels, "path")) continue;
    for (const auto& [key, value] : figures.items()) {
      if (key.starts_with(fmt::format("{}{{path=", metric.name))) extra[key] = value;
    }
  }
  // The GPU memory in use, where the driver reports it (the gate's
  // gpu_memory_leak_slope_bytes_per_hour reads it; without it that row says "not available").
  if (gpu_memory_used) extra["gpu_memory_used_bytes"] = *gpu_memory_used;
  return extra.dump();
}

void read_totals_json(std::string_view json, scenario_totals& tot) {
  const auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  tot.hot_path_copies = json_number<std::uint64_t>(j, "copies_total{path=\"hot\"}", tot.hot_path_copies);
  tot.integrity_failures = json_number<std::uint64_t>(j, "integrity_failures_total", tot.integrity_failures);
  tot.oom_events = json_number<std::uint64_t>(j, "oom_events_total", tot.oom_events);
  tot.oom_recoveries = json_number<std::uint64_t>(j, "oom_recoveries_total", tot.oom_recoveries);
  tot.failures = json_number<std::uint64_t>(j, "scenario_failures_total", tot.failures);
  tot.leaks = json_number<std::uint64_t>(j, "leaks_total", tot.leaks);
  tot.iterations = json_number<std::uint64_t>(j, "scenario_iterations_total", tot.iterations);
  tot.allocations = json_number<std::uint64_t>(j, "allocations_total", tot.allocations);
  tot.frees = json_number<std::uint64_t>(j, "frees_total", tot.frees);
  tot.fence_waits = json_number<std::uint64_t>(j, "fence_waits_total", tot.fence_waits);
  tot.fence_wait_ns = static_cast<std::uint64_t>(
      json_number<double>(j, "fence_wait_seconds_total", static_cast<double>(tot.fence_wait_ns) * 1e-9) * 1e9);
  tot.watchdog_timeouts = json_number<std::uint64_t>(j, "watchdog_timeouts_total", tot.watchdog_timeouts);
  tot.fragmentation_refusals =
      json_number<std::uint64_t>(j, "fragmentation_refusals_total", tot.fragmentation_refusals);
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    const auto path = gpu::to_string(static_cast<gpu::copy_path>(p));
    tot.copies_by_path[p] =
        json_number<std::uint64_t>(j, fmt::format("copies_total{{path=\"{}\"}}", path).c_str(), tot.copies_by_path[p]);
    tot.copied_bytes_by_path[p] = json_number<std::uint64_t>(
        j, fmt::format("copied_bytes_total{{path=\"{}\"}}", path).c_str(), tot.copied_bytes_by_path[p]);
  }
  if (const auto it = j.find("fragmentation_ratio"); it != j.end() && it->is_number()) {
    tot.fragmentation = it->get<double>();
  }
}

result<resume_point> load_resume_point(run_store& store, std::string_view run_id, const scenarios::plan& plan) {
  GPUSOAK_TRY_ASSIGN(auto samples, store.samples(run_id));
  GPUSOAK_TRY_ASSIGN(auto events, store.events(run_id));
  resume_point from;
  for (const auto& s : samples) from.t = std::max(from.t, s.t_seconds);
  const auto offsets = phase_offsets(plan);
  const double phase_start = offsets[std::min(phase_at(offsets, from.t), offsets.size() - 1)];
  for (const auto& s : samples) {
    auto& tot = from.totals[s.scenario];
    read_totals_json(s.extra_json, tot);
    tot.copies = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.copies_total));
    if (s.t_seconds <= phase_start) from.failures_before_phase[s.scenario] = tot.failures;
  }
  for (const auto& e : events) {
    if (e.level == "error" && !e.scenario.empty()) ++from.totals[e.scenario].failure_events;
  }
  return from;
}

worker_result run_worker(const scenarios::plan& plan, run_store& store, const std::string& run_id,
                         const soak_options& options, const resume_point& from) {
  soak_worker worker(plan, store, run_id, options, from);
  return worker.run();
}

}  // namespace gpusoak::harness::detail
