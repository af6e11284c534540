#include "gpusoak/harness/leak_slope.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace gpusoak::harness {
namespace {

bool all_finite(std::span<const point> points) {
  return std::ranges::all_of(points, [](const point& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
}

// Every k-th point so that at most max_points remain, always keeping the last one.
std::vector<point> subsample(std::span<const point> points, std::size_t max_points) {
  if (max_points < 2) max_points = 2;
  if (points.size() <= max_points) return {points.begin(), points.end()};
  std::vector<point> out;
  out.reserve(max_points);
  const double step = static_cast<double>(points.size() - 1) / static_cast<double>(max_points - 1);
  for (std::size_t i = 0; i < max_points; ++i) {
    const auto index = static_cast<std::size_t>(std::llround(static_cast<double>(i) * step));
    out.push_back(points[std::min(index, points.size() - 1)]);
  }
  return out;
}

}  // namespace

std::optional<double> theil_sen_slope(std::span<const point> points, std::size_t max_points) {
  if (points.size() < 2 || !all_finite(points)) return std::nullopt;
  const auto used = subsample(points, max_points);
  std::vector<double> slopes;
  slopes.reserve(used.size() * (used.size() - 1) / 2);
  for (std::size_t i = 0; i < used.size(); ++i) {
    for (std::size_t j = i + 1; j < used.size(); ++j) {
      const double dx = used[j].x - used[i].x;
      if (dx == 0) continue;
      slopes.push_back((used[j].y - used[i].y) / dx);
    }
  }
  if (slopes.empty()) return std::nullopt;
  const std::size_t mid = slopes.size() / 2;
  std::ranges::nth_element(slopes, slopes.begin() + static_cast<std::ptrdiff_t>(mid));
  const double upper = slopes[mid];
  if (slopes.size() % 2 == 1) return upper;
  const double lower = *std::max_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

std::optional<double> least_squares_slope(std::span<const point> points) {
  if (points.size() < 2 || !all_finite(points)) return std::nullopt;
  double mean_x = 0, mean_y = 0;
  for (const auto& p : points) {
    mean_x += p.x;
    mean_y += p.y;
  }
  mean_x /= static_cast<double>(points.size());
  mean_y /= static_cast<double>(points.size());
  double sxy = 0, sxx = 0;
  for (const auto& p : points) {
    sxy += (p.x - mean_x) * (p.y - mean_y);
    sxx += (p.x - mean_x) * (p.x - mean_x);
  }
  if (sxx == 0) return std::nullopt;
  return sxy / sxx;
}

bool thinned_series::add(point p) {
  // Points held are those whose offer index is a multiple of the stride; halving keeps the even
  // ones among them, the multiples of the doubled stride, so the rule holds across halvings.
  if (offered_++ % stride_ != 0) return false;
  points_.push_back(p);
  if (points_.size() < 2 * max_points_) return true;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < points_.size(); i += 2) points_[kept++] = points_[i];
  points_.resize(kept);
  stride_ *= 2;
  return true;
}

void thinned_series::clear() {
  points_.clear();
  stride_ = 1;
  offered_ = 0;
}

}  // namespace gpusoak::harness
