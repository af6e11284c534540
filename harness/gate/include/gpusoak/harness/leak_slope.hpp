// Robust slopes for leak detection: Theil-Sen (the median of all pairwise slopes), which a few
// spikes cannot move, plus ordinary least squares for comparison (what Prometheus' deriv() does);
// and the gate's leak fit: one slope per phase and per context, each after its own warm-up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/harness/run_model.hpp"

namespace gpusoak::harness {

struct point {
  double x = 0;  // e.g. run-elapsed hours
  double y = 0;  // e.g. live bytes
};

// Theil-Sen slope: the median of (y_j - y_i) / (x_j - x_i) over all pairs i < j with x_i != x_j
// (pairs with equal x say nothing about the slope and are skipped; an even count takes the mean
// of the two middle slopes). Breakdown point ~29%: up to that share of outliers cannot drag it.
// Cost is O(n^2) pairs; above max_points the input is subsampled evenly (every k-th point, by
// index, keeping the first and the last) down to max_points, which keeps the fit's span and
// costs at most ~max_points^2/2 slope evaluations (2000 points -> 2M pairs, a few ms).
// Empty when there are fewer than two distinct x values or a value is not finite.
[[nodiscard]] std::optional<double> theil_sen_slope(std::span<const point> points, std::size_t max_points = 2000);

// Ordinary least squares slope; empty under the same conditions as theil_sen_slope.
[[nodiscard]] std::optional<double> least_squares_slope(std::span<const point> points);

// A series for a running fit over a run of any length in bounded memory (the daemon's leak-slope
// gauge is refit after every sample of a 24-hour run). It keeps every stride-th point; when it
// reaches 2 * max_points it drops every other point and doubles the stride, so what it holds
// stays evenly spread from the run's first point to within one stride of the latest.
class thinned_series {
 public:
  explicit thinned_series(std::size_t max_points) : max_points_(max_points < 2 ? 2 : max_points) {}

  // Offers the next point; returns whether the points held changed (only then does a fit over
  // them need redoing: past the first 2 * max_points offers, most points are skipped).
  bool add(point p);
  void clear();
  [[nodiscard]] std::span<const point> points() const { return points_; }
  [[nodiscard]] std::size_t stride() const { return stride_; }

 private:
  std::size_t max_points_;
  std::size_t stride_ = 1;
  std::size_t offered_ = 0;  // points offered so far, kept or not
  std::vector<point> points_;
};

// The memory series a leak slope is fitted on.
struct memory_series {
  std::string_view key;     // the sample column (live_bytes, rss_bytes) or the extra_json key
  bool per_context = true;  // live_bytes is one figure per GL context; RSS one per process
};

// One fitted slope: of one phase in one context, or of one phase in total.
struct leak_fit {
  std::optional<std::int64_t> phase;  // unset: the samples carry no phase (stored before they did)
  std::string context;                // "" for the phase in total (or a series with one figure per process)
  std::optional<double> slope;        // bytes per hour; unset: too few points after the warm-up
  std::size_t points = 0;             // instants after the warm-up
  std::size_t contexts = 1;           // a total: how many contexts' slopes it sums
};

// The fewest instants after a phase's warm-up a slope is fitted on; with fewer the phase cannot be
// judged alone (Theil-Sen of two points is one difference, which any noise decides).
inline constexpr std::size_t min_leak_points = 3;

// Fits `series` over `samples` (any order) per phase, and within a phase per context (where the
// series is per context) and in total (the sum of the contexts' slopes, where there are several).
// Each phase's warm-up is its own: the first warmup_fraction of the span its points cover, so a
// phase that allocates its working set at its start does not read as a leak, and one phase's
// release cannot cancel another's growth. One point per instant: every scenario sampled at one
// instant carries the same context-wide figure, so it is counted once. Samples without the series
// (an extra_json key absent) are skipped. Fits come in phase order (unset first), contexts in name
// order, each phase's total after its contexts.
[[nodiscard]] std::vector<leak_fit> fit_leak_slopes(std::span<const sample* const> samples, const memory_series& series,
                                                    double warmup_fraction);

// The fit a `<` threshold is judged on: the largest slope (the worst phase, context or total).
// Null when no fit has a slope.
[[nodiscard]] const leak_fit* worst_leak_fit(std::span<const leak_fit> fits);

// How the worst fit was found, for a gate row: the phase (index and name from `phases`, when
// recorded), the context, the slope and the points it used, then every other phase's worst slope
// and each phase too short to judge.
[[nodiscard]] std::string describe_leak_fits(std::span<const leak_fit> fits, const leak_fit& worst,
                                             std::span<const phase_record> phases, std::string_view key,
                                             double warmup_fraction);

// A slope in bytes per hour with its sign and a binary unit: "+5MiB/h", "-2.5GiB/h".
[[nodiscard]] std::string format_slope(double bytes_per_hour);

}  // namespace gpusoak::harness
