// Robust slopes for leak detection: Theil-Sen (the median of all pairwise slopes), which a few
// spikes cannot move, plus ordinary least squares for comparison (what Prometheus' deriv() does).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

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

}  // namespace gpusoak::harness
