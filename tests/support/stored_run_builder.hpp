// A run built step by step in a real run store, through the store's own calls in the order a runner
// makes them, so every step passes the store's checks (state transitions, phase order, sample
// times) as a real run's would:
//
//   const std::string id = test::stored_run_builder(store, {.plan_name = "gate-test", .plan_text = plan_yaml})
//                              .running()
//                              .phase("steady")
//                              .series(720, [](int i) { return harness::sample{.t_seconds = 10.0 * i}; })
//                              .event({.t_seconds = 5, .level = "error", .message = "wrong result"})
//                              .end_phase(harness::phase_state::failed)
//                              .finish(harness::run_state::failed, "1 scenario failure")
//                              .id();
//
// Each call writes at once; a write the store refuses throws (failing the test) naming the step and
// the store's message. No gtest in here (fuzz_http shares it through api_fixture.hpp).
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gpusoak/harness/run_store.hpp"

namespace gpusoak::test {

namespace detail {

// The value of a store call's result, or a throw naming the step and the store's message.
template <class result>
auto checked(result&& r, std::string_view step) {
  if (!r) throw std::runtime_error(std::string(step) + ": " + r.error().message);
  if constexpr (!std::is_void_v<typename std::remove_cvref_t<result>::value_type>) return std::move(*r);
}

}  // namespace detail

class stored_run_builder {
 public:
  // Stores a queued run: plan name and YAML text (its thresholds are the plan's), device, time
  // scale, creation time (the id's date), mask and build.
  stored_run_builder(harness::run_store& store, const harness::run_spec& spec)
      : store_(store), id_(detail::checked(store.create_run(spec), "create_run")) {}

  // queued -> running, or interrupted -> running (a resume).
  stored_run_builder& running(harness::timestamp at = harness::now_timestamp()) {
    detail::checked(store_.mark_running(id_, at), "mark_running");
    return *this;
  }

  // Starts the next phase (indexes count from 0, in call order).
  stored_run_builder& phase(std::string_view name, harness::timestamp at = harness::now_timestamp()) {
    detail::checked(store_.record_phase_start(id_, next_phase_, name, at), "record_phase_start");
    open_phase_ = next_phase_++;
    return *this;
  }

  // Ends the phase started last with `outcome`.
  stored_run_builder& end_phase(harness::phase_state outcome, harness::timestamp at = harness::now_timestamp()) {
    if (!open_phase_) throw std::logic_error("end_phase without a phase started");
    detail::checked(store_.record_phase_end(id_, *open_phase_, outcome, at), "record_phase_end");
    open_phase_.reset();
    return *this;
  }

  stored_run_builder& sample(const harness::sample& s) {
    detail::checked(store_.append_sample(id_, s), "append_sample");
    samples_.push_back(s);
    return *this;
  }

  stored_run_builder& samples(std::span<const harness::sample> samples) {
    for (const auto& s : samples) sample(s);
    return *this;
  }

  // `count` samples over time: the i-th (from 0) is make(i), which sets its t_seconds and figures.
  template <std::invocable<int> make_sample>
  stored_run_builder& series(int count, make_sample make) {
    for (int i = 0; i < count; ++i) sample(make(i));
    return *this;
  }

  stored_run_builder& event(const harness::event& e) {
    detail::checked(store_.append_event(id_, e), "append_event");
    events_.push_back(e);
    return *this;
  }

  stored_run_builder& events(std::span<const harness::event> events) {
    for (const auto& e : events) event(e);
    return *this;
  }

  // The run's own verdicts, as its runner records them before it finishes.
  stored_run_builder& verdicts(const std::vector<harness::threshold_result>& results) {
    detail::checked(store_.record_verdicts(id_, results), "record_verdicts");
    return *this;
  }

  // The GL context the run ran on (its provenance); the store keeps the first.
  stored_run_builder& context(const harness::context_facts& facts) {
    detail::checked(store_.record_context(id_, facts), "record_context");
    return *this;
  }

  stored_run_builder& scenario_strategy(std::string_view scenario, std::string_view strategy) {
    detail::checked(store_.record_scenario_strategy(id_, scenario, strategy), "record_scenario_strategy");
    return *this;
  }

  // running -> interrupted, as a daemon shutting down mid-run leaves it (resumable).
  stored_run_builder& interrupted() {
    detail::checked(store_.mark_interrupted(id_), "mark_interrupted");
    return *this;
  }

  // The final state and its reason; a phase still running is left to the store (it aborts it).
  stored_run_builder& finish(harness::run_state final_state, std::string_view reason,
                             harness::timestamp at = harness::now_timestamp()) {
    detail::checked(store_.finish_run(id_, final_state, reason, at), "finish_run");
    return *this;
  }

  // A copy: the builder is often a temporary that ends with this call.
  [[nodiscard]] std::string id() const { return id_; }
  // What this builder wrote, in order, for tests that compare it with what reads back.
  [[nodiscard]] const std::vector<harness::sample>& written_samples() const noexcept { return samples_; }
  [[nodiscard]] const std::vector<harness::event>& written_events() const noexcept { return events_; }

 private:
  harness::run_store& store_;
  std::string id_;
  std::int64_t next_phase_ = 0;
  std::optional<std::int64_t> open_phase_;
  std::vector<harness::sample> samples_;
  std::vector<harness::event> events_;
};

}  // namespace gpusoak::test
