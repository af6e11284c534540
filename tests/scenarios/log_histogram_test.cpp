// The log histogram's quantiles against exact ones on random latencies, its exact merge, and the
// 1-2-5 buckets it replaces for quantiles.
#include "gpusoak/scenarios/log_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::scenarios {
namespace {

constexpr double qs[] = {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};

// The exact q-quantile by the histogram's definition: rank floor(q * (n - 1)) of the sorted values.
double exact_quantile(std::vector<double> values, double q) {
  std::ranges::sort(values);
  return values[static_cast<std::size_t>(std::floor(q * static_cast<double>(values.size() - 1)))];
}

struct distribution {
  std::string name;
  std::function<double(std::mt19937_64&)> draw;  // seconds
};

std::vector<distribution> distributions() {
  return {
      {"lognormal around 5ms", [](std::mt19937_64& g) { return std::lognormal_distribution<double>(-5.3, 0.6)(g); }},
      {"exponential, mean 2ms", [](std::mt19937_64& g) { return std::exponential_distribution<double>(500)(g); }},
      {"uniform 40..60ms", [](std::mt19937_64& g) { return std::uniform_real_distribution<double>(0.040, 0.060)(g); }},
      {"bimodal 100us / 45ms",
       [](std::mt19937_64& g) {
         return std::bernoulli_distribution(0.97)(g) ? std::normal_distribution<double>(100e-6, 5e-6)(g)
                                                     : std::normal_distribution<double>(0.045, 0.002)(g);
       }},
      {"pareto tail from 1ms",
       [](std::mt19937_64& g) { return 1e-3 / std::pow(std::uniform_real_distribution<double>(1e-9, 1)(g), 1 / 1.5); }},
  };
}

std::vector<double> draw(const distribution& d, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<double> values(n);
  for (auto& v : values) v = d.draw(g);
  return values;
}

// checks that on random latencies from five distributions every quantile from p0 to p100 is
// within the 1% relative accuracy (the issue asks for 2%) of the exact sorted quantile, and that
// the exact value lies in the bucket the estimate names (values below 1 ns read 0)
TEST(LogHistogram, QuantilesWithinRelativeAccuracyOfExact) {
  std::uint64_t seed = 7;
  for (const auto& d : distributions()) {
    for (const std::size_t n : {1u, 57u, 1000u, 200000u}) {
      const auto values = draw(d, n, ++seed);
      log_histogram h;
      for (double v : values) h.add(v);
      ASSERT_EQ(h.count(), n);
      for (double q : qs) {
        const double exact = exact_quantile(values, q);
        const auto e = h.quantile(q);
        ASSERT_TRUE(e.has_value());
        if (exact < log_histogram::min_value) {  // below a nanosecond: the zero bucket, read as 0
          EXPECT_EQ(e->value, 0.0) << d.name << " q " << q;
          continue;
        }
        const double error = std::fabs(e->value - exact) / exact;
        EXPECT_LE(error, log_histogram::relative_accuracy * (1 + 1e-9))
            << d.name << ", n " << n << ", q " << q << ": exact " << exact << ", estimate " << e->value;
        EXPECT_LE(error, 0.02);
        EXPECT_GE(exact, e->low * (1 - 1e-12)) << d.name << " q " << q;
        EXPECT_LE(exact, e->high * (1 + 1e-12)) << d.name << " q " << q;
      }
    }
  }
}

// checks that the 1-2-5 buckets the gate used before miss the 2% bound on the same values (the
// test above can tell a coarse histogram from a fine one): a uniform 40..60ms p99 reads 50ms or more
TEST(LogHistogram, OldBucketsMissTheBound) {
  const auto values = draw(distributions()[2], 10000, 99);
  latency_histogram coarse;
  for (double v : values) coarse.add(v);
  const double exact = exact_quantile(values, 0.5);
  std::uint64_t seen = 0, rank = static_cast<std::uint64_t>(std::floor(0.5 * 9999));
  double bucket_upper = 0;
  for (std::size_t i = 0; i < coarse.buckets.size(); ++i) {
    seen += coarse.buckets[i];
    if (seen > rank) {
      bucket_upper = i < latency_histogram::bounds.size() ? latency_histogram::bounds[i] : coarse.max_seconds;
      break;
    }
  }
  EXPECT_GT(std::fabs(bucket_upper - exact) / exact, 0.02) << "exact p50 " << exact << ", bucket " << bucket_upper;
  EXPECT_LE(std::fabs(coarse.quantile(0.5) - exact) / exact, log_histogram::relative_accuracy * (1 + 1e-9));
}

// checks that merging histograms of parts gives exactly the histogram of the union, in any order
// and any split (bucket counts add), as samples and a resumed run's samples merge
TEST(LogHistogram, MergeEqualsHistogramOfUnion) {
  const auto values = draw(distributions()[3], 50000, 3);
  log_histogram whole;
  for (double v : values) whole.add(v);
  std::mt19937_64 g(11);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<log_histogram> parts(1 + trial * 3);
    for (double v : values) parts[std::uniform_int_distribution<std::size_t>(0, parts.size() - 1)(g)].add(v);
    std::ranges::shuffle(parts, g);
    log_histogram merged;
    for (const auto& p : parts) merged.merge(p);
    EXPECT_EQ(merged, whole) << "trial " << trial;
    for (double q : qs) EXPECT_EQ(merged.quantile(q)->value, whole.quantile(q)->value);
  }
  // A planted difference: one value less is not the same histogram.
  log_histogram short_one;
  for (std::size_t i = 1; i < values.size(); ++i) short_one.add(values[i]);
  EXPECT_NE(short_one, whole);
}

// checks the edges: empty has no quantile, zero and sub-nanosecond values read 0, set_bucket and
// set_zero_count keep the count, and the bucket bounds bracket the values they hold
TEST(LogHistogram, EdgesAndBuckets) {
  log_histogram h;
  EXPECT_FALSE(h.quantile(0.5).has_value());
  h.add(0.0, 3);
  h.add(1e-12);
  EXPECT_EQ(h.zero_count(), 4u);
  EXPECT_EQ(h.quantile(1.0)->value, 0.0);
  h.add(0.045, 6);
  EXPECT_EQ(h.count(), 10u);
  EXPECT_NEAR(h.quantile(1.0)->value, 0.045, 0.045 * log_histogram::relative_accuracy);
  EXPECT_EQ(h.quantile(0.3)->value, 0.0);  // rank 2 of 10: a zero
  const auto i = log_histogram::index_of(0.045);
  EXPECT_LT(log_histogram::lower_bound(i), 0.045);
  EXPECT_GE(log_histogram::upper_bound(i), 0.045);
  EXPECT_EQ(h.buckets().at(i), 6u);
  h.set_bucket(i, 2);
  h.set_zero_count(1);
  EXPECT_EQ(h.count(), 3u);
  h.set_bucket(i, 0);
  EXPECT_TRUE(h.buckets().empty());
  EXPECT_EQ(h.count(), 1u);
}

}  // namespace
}  // namespace gpusoak::scenarios
