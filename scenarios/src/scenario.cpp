#include "gpusoak/scenarios/scenario.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "factories.hpp"
#include "gpusoak/scenarios/scenario_names.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios {

void latency_histogram::add(double seconds) {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  ++buckets[i];
  fine.add(seconds);
  ++count;
  sum_seconds += seconds;
  max_seconds = std::max(max_seconds, seconds);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  fine.merge(other.fine);
  count += other.count;
  sum_seconds += other.sum_seconds;
  max_seconds = std::max(max_seconds, other.max_seconds);
}

double latency_histogram::quantile(double q) const {
  const auto estimate = fine.quantile(q);
  return estimate ? std::min(estimate->value, max_seconds) : 0.0;
}

void step_result::merge(const step_result& other) {
  iterations += other.iterations;
  latency.merge(other.latency);
  hot_path_copies += other.hot_path_copies;
  integrity_failures += other.integrity_failures;
  oom_events += other.oom_events;
  oom_recoveries += other.oom_recoveries;
  leaks += other.leaks;
  context_lost = context_lost || other.context_lost;
  if (other.strategy) strategy = other.strategy;
  if (other.fragmentation) fragmentation = other.fragmentation;
  fragmentation_refusals += other.fragmentation_refusals;
  failures_dropped += other.failures_dropped;
  for (const auto& f : other.failures) {
    if (failures.size() < max_kept_failures) {
      failures.push_back(f);
    } else {
      ++failures_dropped;
    }
  }
}

namespace {

// Reads params for `name` through `in` and builds the scenario with what it read (defaults where a
// value was bad); null for an unknown name. Building touches no GL: setup does.
std::unique_ptr<scenario> build(std::string_view name, detail::param_reader& in, std::uint64_t seed) {
  if (name == "conv2d_steady") return detail::make_conv2d_steady(in, seed);
  if (name == "fragmentation") return detail::make_fragmentation(in, seed);
  if (name == "oom") return detail::make_oom(in, seed);
  if (name == "leak_cycle") return detail::make_leak_cycle(in, seed);
  if (name == "memory_pressure") return detail::make_memory_pressure(in, seed);
  if (name == "multi_context") return detail::make_multi_context(in, seed);
  return nullptr;
}

std::string unknown_scenario(std::string_view name) {
  return fmt::format("unknown scenario '{}'; known: {}", name, fmt::join(known_scenarios, ", "));
}

// The factories' readers list allowed names in a constructor; this one runs them all.
std::vector<param_problem> problems_of(std::string_view name, const scenario_params& params,
                                       std::unique_ptr<scenario>* out, std::uint64_t seed) {
  if (!is_known_scenario(name)) return {{.param = "", .line = 0, .what = unknown_scenario(name)}};
  detail::param_reader in(params);
  auto made = build(name, in, seed);
  if (out != nullptr) *out = std::move(made);
  return in.problems();
}

}  // namespace

std::vector<param_problem> check_scenario_params(std::string_view name, const scenario_params& params) {
  return problems_of(name, params, nullptr, 0);
}

void scenario::note_strategy(gpu::usage use, gpu::strategy s) {
  const strategy_use placement{.use = use, .strategy = s};
  if (std::ranges::find(strategies_, placement) == strategies_.end()) strategies_.push_back(placement);
}

result<std::unique_ptr<scenario>> make_scenario(std::string_view name, const scenario_params& params,
                                                std::uint64_t seed) {
  std::unique_ptr<scenario> made;
  const auto problems = problems_of(name, params, &made, seed);
  if (problems.empty()) return made;
  std::string message;
  for (const auto& p : problems) {
    message += message.empty() ? "" : "\n";
    message += p.param.empty() ? p.what : fmt::format("line {}: {}.params.{}: {}", p.line, name, p.param, p.what);
  }
  return make_error(error_kind::validation, std::move(message));
}

result<run_summary> run_for(scenario& s, gpu::context& ctx, std::chrono::nanoseconds duration,
                            const std::function<void(const step_result&)>& on_step) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  GPUSOAK_TRY(s.setup(ctx));
  run_summary summary;
  do {
    const step_result r = s.step(ctx);
    if (on_step) on_step(r);
    summary.total.merge(r);
    ++summary.steps;
  } while (clock::now() - start < duration);
  const step_result last = s.teardown(ctx);
  if (on_step) on_step(last);
  summary.total.merge(last);
  summary.seconds = std::chrono::duration<double>(clock::now() - start).count();
  return summary;
}

}  // namespace gpusoak::scenarios
