// Robust slopes for leak detection: Theil-Sen (the median of all pairwise slopes), which a few
// spikes cannot move, plus ordinary least squares for comparison (what Prometheus' deriv() does).
#pragma once

#include <cstddef>
#include <optional>
#include <span>

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

}  // namespace gpusoak::harness
