#include "gpusoak/harness/soak_runner.hpp"

#include <fmt/format.h>

#include <exception>
#include <thread>

#include "gpusoak/harness/build_info.hpp"
#include "soak_worker.hpp"

namespace gpusoak::harness {

std::string run_device(const scenarios::plan& plan, const soak_options& options) {
  const int device = options.device_from_cli ? options.context.device_index : plan.devices.front();
  return fmt::format("{}:{}", gpu::to_string(options.context.which), device);
}

result<std::string> create_soak_run(const scenarios::plan& plan, std::string_view plan_text, run_store& store,
                                    const soak_options& options) {
  return store.create_run({.plan_name = plan.name,
                           .plan_text = std::string(plan_text),
                           .device = run_device(plan, options),
                           .time_scale = options.time_scale,
                           .created_at = now_timestamp(),
                           .mask = gpu::apply_mask({}, options.context.mask).masked,
                           .gpusoak_version = std::string(gpusoak_version()),
                           .gpusoak_commit = std::string(gpusoak_commit())});
}

result<soak_outcome> execute_soak(const scenarios::plan& plan, std::string_view run_id, run_store& store,
                                  const soak_options& options) {
  GPUSOAK_TRY_ASSIGN(auto run, store.get_run(run_id));
  detail::resume_point from;
  if (run.state == run_state::interrupted) {
    GPUSOAK_TRY_ASSIGN(auto loaded, detail::load_resume_point(store, run_id, plan));
    from = std::move(loaded);
  }
  GPUSOAK_TRY(store.mark_running(run_id, now_timestamp()));

  soak_outcome outcome;
  outcome.run_id = std::string(run_id);
  detail::worker_result worked;
  // The worker thread owns the context: GL contexts are current on one thread.
  std::thread worker([&] {
    try {
      worked = detail::run_worker(plan, store, outcome.run_id, options, from);
    } catch (const std::exception& e) {
      worked.failure = error{error_kind::internal, fmt::format("the soak worker stopped: {}", e.what())};
    } catch (...) {
      worked.failure = error{error_kind::internal, "the soak worker stopped on an unknown exception"};
    }
  });
  worker.join();

  if (!worked.failure && worked.stopped == stop_request::interrupt) {
    GPUSOAK_TRY(store.mark_interrupted(run_id));
    outcome.state = run_state::interrupted;
    outcome.exit_code = exit_could_not_run;
    outcome.reason = "interrupted; the run resumes where it stopped when the daemon starts again";
    return outcome;
  }
  if (worked.failure && worked.failure->kind == error_kind::out_of_space) {
    // No room to store anything more: the run stops where its samples end, stored as a killed
    // process leaves it (running), which the next start resumes as it resumes an interrupted run.
    // Nothing more is written: a small write may fit where the sample did not, and the run's state
    // would then disagree with its phases. Gating it now would judge a run cut short.
    outcome.state = run_state::interrupted;
    outcome.exit_code = exit_could_not_run;
    outcome.reason = worked.failure->message;
    return outcome;
  }
  std::string failure = worked.failure ? worked.failure->message : std::string();
  if (failure.empty()) {
    // The run's own verdicts: stored once, here; a later `gpusoak gate` only reads the run.
    auto report = run_gate(store, run_id, plan.thresholds, {});
    if (report) {
      if (auto stored = store_run_verdicts(store, *report); !stored)
        report = std::unexpected(std::move(stored).error());
    }
    if (!report) {
      failure = fmt::format("gate: {}", report.error().message);
    } else {
      outcome.exit_code = report->exit_code();
      const auto failed = report->count(gate_status::failed);
      const auto no_data = report->count(gate_status::no_data);
      const auto too_few = report->count(gate_status::not_enough_data);
      if (worked.stopped == stop_request::abort) {
        outcome.exit_code = exit_aborted;
        outcome.state = run_state::aborted;
        outcome.reason = "stopped on request";
      } else if (outcome.exit_code == exit_pass) {
        outcome.state = run_state::passed;
        outcome.reason = fmt::format("gate: all {} thresholds passed", report->rows.size());
      } else if (outcome.exit_code == exit_fail) {
        outcome.state = run_state::failed;
        outcome.reason = fmt::format("gate: {} of {} thresholds failed", failed, report->rows.size());
      } else {
        outcome.exit_code = exit_could_not_run;
        outcome.state = run_state::could_not_run;
        outcome.reason = report->rows.empty() ? std::string("gate: the plan has no thresholds")
                         : too_few == 0
                             ? fmt::format("gate: {} thresholds had no data", no_data)
                             : fmt::format("gate: {} thresholds had no data, {} not enough data", no_data, too_few);
      }
      report->state = outcome.state;
      outcome.report = std::move(*report);
    }
  }
  if (!failure.empty()) {
    outcome.exit_code = exit_could_not_run;
    outcome.state = run_state::could_not_run;
    outcome.reason = failure;
  }
  GPUSOAK_TRY(store.finish_run(run_id, outcome.state, outcome.reason, now_timestamp()));
  return outcome;
}

result<soak_outcome> run_soak(const scenarios::plan& plan, std::string_view plan_text, run_store& store,
                              const soak_options& options) {
  GPUSOAK_TRY_ASSIGN(auto id, create_soak_run(plan, plan_text, store, options));
  return execute_soak(plan, id, store, options);
}

}  // namespace gpusoak::harness
