// Soak plans come from files and, with the daemon, from HTTP request bodies. Properties: any text
// gives a plan or an error with a message, never a crash or a sanitizer report (yaml-cpp included);
// a plan that parses holds the invariants plan.hpp documents; its durations add up and scale
// (--time-scale) without overflow; a run's scaled plan keeps the run bounds (scale_for_run); its
// thresholds survive their canonical text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace {

using namespace gpusoak::scenarios;

void check_invariants(const plan& p) {
  GPUSOAK_FUZZ_CHECK(is_valid_plan_name(p.name), "bad name '%s'", p.name.c_str());
  GPUSOAK_FUZZ_CHECK(!p.devices.empty() && !p.phases.empty(), "empty devices or phases");
  GPUSOAK_FUZZ_CHECK(p.sample_interval.count() > 0, "sample interval <= 0");
  for (const phase& ph : p.phases) {
    GPUSOAK_FUZZ_CHECK(ph.duration.count() > 0 && !ph.scenarios.empty(), "phase '%s'", ph.name.c_str());
    for (const scenario_entry& s : ph.scenarios) {
      GPUSOAK_FUZZ_CHECK(is_known_scenario(s.name) && s.weight > 0, "scenario '%s'", s.name.c_str());
    }
  }
  GPUSOAK_FUZZ_CHECK(p.total_duration().count() > 0, "total duration <= 0");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_plan(text, "<fuzz>");
  if (!parsed) {
    GPUSOAK_FUZZ_CHECK(!parsed.error().message.empty(), "empty error message");
    return 0;
  }
  check_invariants(*parsed);
  for (const auto& t : parsed->thresholds) {
    const auto again = parse_threshold(to_string(t));
    GPUSOAK_FUZZ_CHECK(again && *again == t, "threshold '%s' does not read back", to_string(t).c_str());
  }
  // The factors --time-scale and the daemon are likely to see, and ones far past them.
  for (const double factor : {0.001, 0.05, 1.0, 1e3, 1e6, 1e12}) {
    const auto scaled = parsed->scaled(factor);
    if (scaled) {
      check_invariants(*scaled);
    }
    // A run's plan is the scaled plan within the run bounds, or an error listing what is wrong.
    const auto run = scale_for_run(*parsed, factor);
    if (!run) {
      GPUSOAK_FUZZ_CHECK(!problem_lines(run.error().message).empty(), "scale_for_run: empty error");
      continue;
    }
    GPUSOAK_FUZZ_CHECK(scaled && *run == *scaled, "scale_for_run differs from scaled at %g", factor);
    GPUSOAK_FUZZ_CHECK(run->total_duration() <= max_run_duration, "run over %lldh at %g",
                       static_cast<long long>(max_run_duration.count()), factor);
    for (const phase& ph : run->phases) {
      GPUSOAK_FUZZ_CHECK(ph.duration >= min_samples_per_phase * run->sample_interval, "phase '%s' under %d samples",
                         ph.name.c_str(), min_samples_per_phase);
    }
  }
  return 0;
}
