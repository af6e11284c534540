#include "gpusoak/scenarios/threshold.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace gpusoak::scenarios {
namespace {

// checks that an aggregate with labels and a duration value parses into base units
TEST(ThresholdTest, ParsesAggregateWithLabelsAndDuration) {
  const auto t = parse_threshold(R"(p99(op_latency_seconds{scenario="conv2d_steady",context="soak"}) < 200us)");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->lhs.agg, aggregation::p99);
  EXPECT_EQ(t->lhs.metric, "op_latency_seconds");
  ASSERT_EQ(t->lhs.labels.size(), 2u);
  EXPECT_EQ(t->lhs.labels[0], (label_matcher{"scenario", "conv2d_steady"}));
  EXPECT_EQ(t->lhs.labels[1], (label_matcher{"context", "soak"}));
  EXPECT_EQ(t->op, comparison::less);
  EXPECT_DOUBLE_EQ(t->value, 200e-6);
  EXPECT_EQ(t->unit, value_unit::duration);
  EXPECT_FALSE(t->rhs_metric);
}

// checks that plain series, byte sizes, plain numbers and every operator parse
TEST(ThresholdTest, ParsesSeriesBytesNumbersAndOperators) {
  const auto copies = parse_threshold(R"(copies_total{path="hot"} == 0)");
  ASSERT_TRUE(copies) << copies.error().message;
  EXPECT_EQ(copies->lhs.agg, aggregation::none);
  EXPECT_EQ(copies->unit, value_unit::none);
  EXPECT_EQ(copies->value, 0);

  const auto leak = parse_threshold("leak_slope_bytes_per_hour < 1MiB");
  ASSERT_TRUE(leak) << leak.error().message;
  EXPECT_EQ(leak->unit, value_unit::bytes);
  EXPECT_EQ(leak->value, 1048576.0);

  const std::vector<std::pair<std::string, comparison>> ops{
      {"<", comparison::less},           {"<=", comparison::less_equal}, {">", comparison::greater},
      {">=", comparison::greater_equal}, {"==", comparison::equal},      {"!=", comparison::not_equal}};
  for (const auto& [text, op] : ops) {
    const auto t = parse_threshold("max(fragmentation_ratio) " + text + " 0.5");
    ASSERT_TRUE(t) << text << ": " << t.error().message;
    EXPECT_EQ(t->op, op);
    EXPECT_DOUBLE_EQ(t->value, 0.5);
  }
}

// checks that two metrics can be compared (oom_recoveries_total == oom_events_total)
TEST(ThresholdTest, ComparesTwoMetrics) {
  const auto t = parse_threshold("oom_recoveries_total == oom_events_total");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_TRUE(t->rhs_metric);
  EXPECT_EQ(t->rhs_metric->metric, "oom_events_total");
  EXPECT_FALSE(parse_threshold("live_bytes > p99(op_latency_seconds)"));
}

// checks that to_string gives a canonical form that parses back to the same threshold
TEST(ThresholdTest, RoundTripsThroughToString) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"p99(conv2d_latency_seconds) < 50ms", "p99(conv2d_latency_seconds) < 50ms"},
      {"  max( copies_total { scenario = \"oom\" , path=\"hot\" } )<=1 ",
       "max(copies_total{scenario=\"oom\",path=\"hot\"}) <= 1"},
      {"copies_total{path=\"hot\"}==0", "copies_total{path=\"hot\"} == 0"},
      {"leak_slope_bytes_per_hour < 1MiB", "leak_slope_bytes_per_hour < 1MiB"},
      {"rate(errors_total) != 0.25", "rate(errors_total) != 0.25"},
      {"count(op_latency_seconds) >= 100", "count(op_latency_seconds) >= 100"},
      {"oom_recoveries_total == oom_events_total", "oom_recoveries_total == oom_events_total"},
      {R"(errors_total{context="a\"b\\c"} == 0)", R"(errors_total{context="a\"b\\c"} == 0)"},
  };
  for (const auto& [input, canonical] : cases) {
    const auto t = parse_threshold(input);
    ASSERT_TRUE(t) << input << ": " << t.error().message;
    EXPECT_EQ(to_string(*t), canonical);
    const auto again = parse_threshold(to_string(*t));
    ASSERT_TRUE(again) << canonical << ": " << again.error().message;
    EXPECT_EQ(*again, *t) << canonical;
  }
}

// checks that each malformed threshold is rejected with a message saying what is wrong and what is allowed
TEST(ThresholdTest, RejectsBadThresholds) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"p99(no_such_metric) < 5ms", "unknown metric 'no_such_metric'; known: op_latency_seconds"},
      {"gpusoak_errors_total == 0", "without the 'gpusoak_' prefix"},
      {"p42(op_latency_seconds) < 5ms", "unknown aggregate 'p42'"},
      {"errors_total = 0", "'=' is not a comparison; use <, <=, >, >=, == or !="},
      {"errors_total =< 0", "'=<' is not a comparison"},
      {"errors_total <> 0", "'<>' is not a comparison"},
      {"errors_total", "missing comparison"},
      {"errors_total ==", "expected a value"},
      {"errors_total == 5ms", "is a duration but errors_total is not measured in seconds"},
      {"p99(op_latency_seconds) < 1MiB", "is a byte size but p99(op_latency_seconds) is not measured in bytes"},
      {"p99(op_latency_seconds) < 5parsecs", "unknown unit 'parsecs'"},
      {"p99(op_latency_seconds) < -5ms", "is not a duration"},
      {"live_bytes < 0.5MiB", "byte sizes are whole numbers"},
      {"count(op_latency_seconds) < 5ms", "is a duration"},
      {"errors_total{colour=\"red\"} == 0", "unknown label 'colour'"},
      // The catalog decides which labels and copy paths a series has.
      {"fragmentation_ratio{path=\"hot\"} == 0", "fragmentation_ratio has no label 'path'"},
      {"copies_total{path=\"warm\"} == 0", "unknown copy path 'warm' for copies_total"},
      {"copied_bytes_total{path=\"hot\"} == 0", "unknown copy path 'hot' for copied_bytes_total"},
      {"p99(op_latency_seconds{strategy=\"persistent_flush\"}) < 1ms", "label 'strategy' cannot be matched"},
      {"live_bytes{gpu=\"0\"} < 1GiB", "label 'gpu' cannot be matched"},
      {"gpusoak_resident_memory_bytes < 1GiB", "write 'rss_bytes'"},
      {"gpusoak_build_info == 1", "unknown metric 'gpusoak_build_info'"},
      {"copies_total{path=hot} == 0", "expected a double-quoted label value"},
      {"copies_total{path=\"hot} == 0", "unterminated label value"},
      {"copies_total{path=\"hot\",path=\"hot\"} == 0", "label 'path' appears twice"},
      {"errors_total{scenario=\"nope\"} == 0", "unknown scenario 'nope'"},
      {"copies_total{path=~\"h.*\"} == 0", "only exact matches"},
      {"p99(op_latency_seconds < 5ms", "expected ')'"},
      {"errors_total == 0 or 1", "unexpected 'or 1'"},
      {"", "expected a metric name"},
  };
  for (const auto& [input, expected] : cases) {
    const auto t = parse_threshold(input);
    ASSERT_FALSE(t) << input;
    EXPECT_NE(t.error().message.find(expected), std::string::npos) << input << " -> " << t.error().message;
    EXPECT_NE(t.error().message.find("column"), std::string::npos) << t.error().message;
  }
}

// checks that holds() applies each comparison the way the gate will
TEST(ThresholdTest, HoldsAppliesComparison) {
  EXPECT_TRUE(holds(comparison::less, 1, 2));
  EXPECT_FALSE(holds(comparison::less, 2, 2));
  EXPECT_TRUE(holds(comparison::less_equal, 2, 2));
  EXPECT_TRUE(holds(comparison::greater, 3, 2));
  EXPECT_TRUE(holds(comparison::greater_equal, 2, 2));
  EXPECT_TRUE(holds(comparison::equal, 0, 0));
  EXPECT_TRUE(holds(comparison::not_equal, 0, 1));
}

}  // namespace
}  // namespace gpusoak::scenarios
