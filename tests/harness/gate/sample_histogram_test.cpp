// Interval histograms as samples keep them in extra_json: the log form's round trip and checks,
// merging across samples (and so across a resume), and the 1-2-5 form of older runs.
#include "gpusoak/harness/sample_histogram.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gpusoak::harness {
namespace {

using scenarios::latency_histogram;
using scenarios::log_histogram;

std::vector<double> latencies(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::lognormal_distribution<double> d(-5.0, 0.8);
  std::vector<double> out(n);
  for (auto& v : out) v = d(g);
  return out;
}

// A sample whose extra_json carries `h` under key "latency" the way the runner writes it (log
// form), or as a run stored before log histograms did (1-2-5 form).
sample with_histogram(const latency_histogram& h, bool old_form, double t = 0) {
  nlohmann::json extra{{"latency_sum_seconds", h.sum_seconds}, {"latency_max_seconds", h.max_seconds}};
  if (old_form) {
    extra["latency_buckets"] = h.buckets;
  } else {
    extra["latency_hist"] = log_histogram_json(h.fine);
  }
  return {.t_seconds = t, .scenario = "conv2d_steady", .iterations = 1, .extra_json = extra.dump()};
}

// checks that a histogram written as JSON text and parsed back is the same histogram, and that
// only non-empty buckets are written
TEST(SampleHistogram, JsonRoundTrip) {
  log_histogram h;
  for (double v : latencies(5000, 1)) h.add(v);
  h.add(0.0, 2);
  const std::string text = log_histogram_json(h).dump();
  const auto back = read_log_histogram_json(nlohmann::json::parse(text));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, h);
  EXPECT_EQ(nlohmann::json::parse(text)["counts"].size(), h.buckets().size());
  EXPECT_LT(h.buckets().size(), 400u) << "sparse: a lognormal spans a few hundred 1% buckets, not thousands";
  EXPECT_EQ(read_log_histogram_json(log_histogram_json(log_histogram{})).value(), log_histogram{});
}

// checks that malformed or foreign histograms are refused with the reason: another relative
// accuracy, a bucket that is not [index, count], a negative count, a bucket listed twice
TEST(SampleHistogram, RefusesBadForms) {
  const auto refused = [](const char* text, const char* reason) {
    const auto r = read_log_histogram_json(nlohmann::json::parse(text));
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
  };
  refused(R"([1, 2])", "not an object");
  refused(R"({"relative_accuracy": 0.02, "zero": 0, "counts": []})", "relative_accuracy");
  refused(R"({"relative_accuracy": 0.01, "zero": 0, "counts": [[1, 2, 3]]})", "[index, count]");
  refused(R"({"relative_accuracy": 0.01, "zero": 0, "counts": [[1, -2]]})", "[index, count]");
  refused(R"({"relative_accuracy": 0.01, "zero": 0, "counts": [[1, 2], [1, 3]]})", "twice");
  refused(R"({"relative_accuracy": 0.01, "zero": -1, "counts": []})", "zero");
}

// checks that the samples' stored histograms add up exactly to the histogram of all their values
// (so samples before and after a resume merge like any others), with the quantile's bound
TEST(SampleHistogram, SamplesMergeToTheUnion) {
  const auto values = latencies(20000, 2);
  latency_histogram whole;
  for (double v : values) whole.add(v);
  std::vector<sample> samples;
  for (std::size_t part = 0; part < 13; ++part) {
    latency_histogram h;
    for (std::size_t i = part; i < values.size(); i += 13) h.add(values[i]);
    samples.push_back(with_histogram(h, false, static_cast<double>(part)));
  }
  std::vector<const sample*> rows;
  for (const auto& s : samples) rows.push_back(&s);
  const auto merged = merge_sample_histograms(rows, "latency");
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->kind, merged_histogram::form::log);
  EXPECT_EQ(merged->h.fine, whole.fine);
  EXPECT_EQ(merged->h.count, values.size());
  EXPECT_DOUBLE_EQ(merged->h.max_seconds, whole.max_seconds);
  auto sorted = values;
  std::ranges::sort(sorted);
  const double exact = sorted[static_cast<std::size_t>(std::floor(0.99 * (values.size() - 1)))];
  const auto p99 = merged->quantile(0.99);
  ASSERT_TRUE(p99.has_value());
  EXPECT_EQ(p99->relative_error, log_histogram::relative_accuracy);
  EXPECT_LE(std::fabs(p99->value - exact) / exact, log_histogram::relative_accuracy * (1 + 1e-9));
  EXPECT_LE(p99->low, exact);
  EXPECT_GE(p99->high, exact);
}

// checks that a run stored before log histograms (1-2-5 buckets) still merges, reading a quantile
// as its bucket's upper bound with the bucket as the bound; that mixed forms or a sample without
// a histogram give nothing to merge
TEST(SampleHistogram, OldBucketsAndMixedForms) {
  latency_histogram a, b;
  for (int i = 0; i < 90; ++i) a.add(0.004);
  for (int i = 0; i < 10; ++i) b.add(0.045);
  b.add(0.3);
  const std::vector<sample> old{with_histogram(a, true, 0), with_histogram(b, true, 1)};
  const std::vector<const sample*> old_rows{&old[0], &old[1]};
  const auto merged = merge_sample_histograms(old_rows, "latency");
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->kind, merged_histogram::form::buckets);
  EXPECT_EQ(merged->h.count, 101u);
  const auto p99 = merged->quantile(0.99);
  ASSERT_TRUE(p99.has_value());
  EXPECT_DOUBLE_EQ(p99->value, 0.05);  // 45 ms reads as the (20ms, 50ms] bucket's bound
  EXPECT_DOUBLE_EQ(p99->low, 0.02);
  EXPECT_DOUBLE_EQ(p99->high, 0.05);
  EXPECT_FALSE(p99->relative_error.has_value());

  const std::vector<sample> mixed{with_histogram(a, true, 0), with_histogram(b, false, 1)};
  const std::vector<const sample*> mixed_rows{&mixed[0], &mixed[1]};
  EXPECT_FALSE(merge_sample_histograms(mixed_rows, "latency").has_value());
  const sample bare{.t_seconds = 2, .scenario = "conv2d_steady", .iterations = 1};
  const std::vector<const sample*> with_bare{&old[0], &bare};
  EXPECT_FALSE(merge_sample_histograms(with_bare, "latency").has_value());
}

}  // namespace
}  // namespace gpusoak::harness
