// gpusoakd's leak-slope gauge fed as a worker feeds it: per phase, after each phase's warm-up.
#include "gpusoak/harness/daemon_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

constexpr double mib = 1024.0 * 1024.0;

// The gauge's value in the exposition text; NaN when it is not there.
// (Not std::regex: GCC 12's regex trips -Wmaybe-uninitialized in the ASan build.)
double leak_slope(const std::string& text) {
  const std::string series = "gpusoak_leak_slope_bytes_per_hour{gpu=\"0\"} ";
  const auto at = text.find(series);
  return at == std::string::npos ? std::nan("") : std::stod(text.substr(at + series.size()));
}

// checks that the gauge fits the current phase only: a leak after a phase that released 2 GiB
// reads as the leak (a whole-run fit reads hugely negative), and a phase's warm-up is left out
TEST(DaemonMetricsTest, LeakSlopeGaugeIsThePhasesOwn) {
  daemon_metrics metrics("test");
  const scenarios::plan plan{.name = "gauge-test"};
  metrics.run_started(0, "r-1", plan, 3 * 3600.0);
  auto& observer = metrics.gpu(0);
  const auto feed = [&](std::size_t index, double t0, auto live) {
    const scenarios::phase ph{.name = "p", .duration = std::chrono::hours(1)};
    observer.on_phase(index, ph, t0);
    for (int i = 1; i <= 60; ++i) {
      const double h = i / 60.0;
      const sample s{.t_seconds = t0 + h * 3600, .scenario = "leak_cycle", .live_bytes = std::int64_t(live(h))};
      observer.on_samples(std::vector<sample>{s}, {});
    }
  };
  feed(0, 0, [](double) { return 2048 * mib; });
  EXPECT_NEAR(leak_slope(metrics.serialize()), 0, 1);
  feed(1, 3600, [](double h) { return 2048 * mib * (1 - h); });
  EXPECT_LT(leak_slope(metrics.serialize()), -1000 * mib);
  // The leak phase starts with a jump (inside its warm-up) that a fit including it would read as growth.
  feed(2, 7200, [](double h) { return (h < 0.05 ? 0 : 512 * mib) + 5 * mib * h; });
  EXPECT_NEAR(leak_slope(metrics.serialize()), 5 * mib, 1e3);
}

}  // namespace
}  // namespace gpusoak::harness
