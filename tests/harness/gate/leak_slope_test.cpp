// Theil-Sen and least-squares slopes: exact lines, noise, outliers, subsampling, degenerate input.
#include "gpusoak/harness/leak_slope.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace gpusoak::harness {
namespace {

std::vector<point> line(double slope, double intercept, std::size_t n) {
  std::vector<point> points;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i) * 0.25;
    points.push_back({x, slope * x + intercept});
  }
  return points;
}

// checks that both fits recover an exact line's slope
TEST(LeakSlope, ExactLine) {
  const auto points = line(3.0, 5.0, 50);
  ASSERT_TRUE(theil_sen_slope(points).has_value());
  EXPECT_NEAR(*theil_sen_slope(points), 3.0, 1e-12);
  EXPECT_NEAR(*least_squares_slope(points), 3.0, 1e-12);
  EXPECT_NEAR(*theil_sen_slope(line(-2.5, 0, 7)), -2.5, 1e-12);
}

// checks that on clean data with Gaussian noise Theil-Sen agrees with least squares
TEST(LeakSlope, AgreesWithLeastSquaresOnCleanNoisyData) {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 0.5);
  auto points = line(2.0, 10.0, 400);
  for (auto& p : points) p.y += noise(rng);
  const double ts = *theil_sen_slope(points);
  const double ls = *least_squares_slope(points);
  EXPECT_NEAR(ts, 2.0, 0.02);
  EXPECT_NEAR(ls, 2.0, 0.02);
  EXPECT_NEAR(ts, ls, 0.02);
}

// checks that a tenth of huge outliers leaves Theil-Sen near the true slope while least squares is dragged off
TEST(LeakSlope, RobustToOutliers) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.2);
  auto points = line(1.0, 0.0, 200);
  for (auto& p : points) p.y += noise(rng);
  // Spikes late in the series: they pull a least-squares fit up hard.
  for (std::size_t i = 150; i < 200; i += 5) points[i].y += 1e4;
  EXPECT_NEAR(*theil_sen_slope(points), 1.0, 0.05);
  EXPECT_GT(std::fabs(*least_squares_slope(points) - 1.0), 10.0);
}

// checks the median of pairwise slopes by hand, with an even count and a skipped equal-x pair
TEST(LeakSlope, MedianByHand) {
  const std::vector<point> odd{{0, 0}, {1, 1}, {2, 3}};  // slopes 1, 1.5, 2
  EXPECT_DOUBLE_EQ(*theil_sen_slope(odd), 1.5);
  const std::vector<point> even{{0, 0}, {1, 1}, {1, 2}};  // slopes 1, 2 (the x=1 pair is skipped)
  EXPECT_DOUBLE_EQ(*theil_sen_slope(even), 1.5);
}

// checks that large inputs are subsampled evenly and still fit the line
TEST(LeakSlope, SubsamplesLargeInput) {
  auto points = line(0.5, -3, 20000);
  EXPECT_NEAR(*theil_sen_slope(points, 100), 0.5, 1e-9);
  EXPECT_NEAR(*theil_sen_slope(points), 0.5, 1e-9);
}

// checks that degenerate input (too few points, one x, non-finite values) has no slope
TEST(LeakSlope, DegenerateInput) {
  EXPECT_FALSE(theil_sen_slope({}).has_value());
  const std::vector<point> one{{1, 1}};
  EXPECT_FALSE(theil_sen_slope(one).has_value());
  const std::vector<point> same_x{{1, 1}, {1, 2}, {1, 3}};
  EXPECT_FALSE(theil_sen_slope(same_x).has_value());
  EXPECT_FALSE(least_squares_slope(same_x).has_value());
  const std::vector<point> nan{{0, 0}, {1, std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_FALSE(theil_sen_slope(nan).has_value());
  EXPECT_FALSE(least_squares_slope(nan).has_value());
}

// checks that a thinned series stays bounded over a long run, keeps its points evenly spread from
// the first to within one stride of the latest, fits the same slope as the full series, and says
// on each offer whether what it holds changed
TEST(ThinnedSeries, StaysBoundedAndEvenAndFitsTheSameSlope) {
  std::mt19937_64 rng(std::random_device{}());
  const auto max_points = std::uniform_int_distribution<std::size_t>(3, 300)(rng);
  const auto total = std::uniform_int_distribution<std::size_t>(50 * max_points, 100 * max_points)(rng);
  const double slope = std::uniform_real_distribution<double>(-5, 5)(rng);
  std::normal_distribution<double> noise(0, 0.5);
  thinned_series series(max_points);
  std::vector<point> all;
  for (std::size_t i = 0; i < total; ++i) {
    const point p{static_cast<double>(i), slope * static_cast<double>(i) + noise(rng)};
    all.push_back(p);
    const std::vector<point> before(series.points().begin(), series.points().end());
    const bool changed = series.add(p);
    const auto after = series.points();
    ASSERT_EQ(changed, !std::ranges::equal(before, after,
                                           [](const point& a, const point& b) { return a.x == b.x && a.y == b.y; }))
        << "offer " << i;
    ASSERT_LT(series.points().size(), 2 * max_points) << "after " << i + 1 << " points";
  }
  const auto held = series.points();
  ASSERT_GE(held.size(), max_points);
  EXPECT_EQ(held.front().x, 0.0);
  const auto stride = static_cast<double>(series.stride());
  for (std::size_t i = 1; i < held.size(); ++i) ASSERT_EQ(held[i].x - held[i - 1].x, stride) << "at " << i;
  EXPECT_GT(held.back().x, static_cast<double>(total - 1) - stride);
  for (const auto& p : held) ASSERT_EQ(p.y, all[static_cast<std::size_t>(p.x)].y);  // real points, not averages
  EXPECT_NEAR(*theil_sen_slope(held), *theil_sen_slope(all, 2000), 0.01);

  series.clear();
  EXPECT_TRUE(series.points().empty());
  EXPECT_EQ(series.stride(), 1u);
  series.add({7, 1});
  ASSERT_EQ(series.points().size(), 1u);
  EXPECT_EQ(series.points().front().x, 7.0);
}

}  // namespace
}  // namespace gpusoak::harness
