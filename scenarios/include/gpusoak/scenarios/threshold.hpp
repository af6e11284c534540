// Gate thresholds, written like k6's:
//   p99(conv2d_latency_seconds{scenario="conv2d_steady"}) < 50ms
//   copies_total{path="hot"} == 0
//   leak_slope_bytes_per_hour < 1MiB
//   oom_recoveries_total == oom_events_total
// Grammar (spaces allowed between tokens):
//   threshold := operand OP rhs
//   operand   := AGG "(" series ")" | series
//   series    := METRIC [ "{" [ LABEL "=" "\"" value "\"" { "," LABEL "=" "\"" value "\"" } ] "}" ]
//   rhs       := NUMBER [UNIT] | operand
//   AGG       := p50 | p90 | p95 | p99 | p999 | max | min | avg | rate | count
//   OP        := < | <= | > | >= | == | !=
// METRIC must be a named series of metric_catalog and LABEL one of threshold_labels that applies
// to it; a `scenario` label must name a known scenario and a `path` label a copy path. UNIT is a
// duration unit (us, ms, s, m, h) for _seconds metrics or a byte unit (B, KiB, MiB, GiB, TiB) for
// _bytes metrics; `count(...)` and counters take plain numbers. Label values escape `"` and `\`
// with a backslash. Evaluating thresholds is the gate's business, not this file's.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"

namespace gpusoak::scenarios {

enum class aggregation { none, p50, p90, p95, p99, p999, max, min, avg, rate, count };
enum class comparison { less, less_equal, greater, greater_equal, equal, not_equal };

// How the value was written; the number is always stored in base units.
enum class value_unit {
  none,      // a plain number: 0, 0.25, 1e-3
  duration,  // 50ms, stored as 0.05 (seconds)
  bytes,     // 1MiB, stored as 1048576
};

struct label_matcher {
  std::string name;
  std::string value;
  friend bool operator==(const label_matcher&, const label_matcher&) = default;
};

// One side of a threshold: an aggregate of a series, or the series itself.
struct metric_operand {
  aggregation agg = aggregation::none;
  std::string metric;                 // always a named metric_catalog series
  std::vector<label_matcher> labels;  // in the order written; names unique
  friend bool operator==(const metric_operand&, const metric_operand&) = default;
};

struct threshold {
  metric_operand lhs;
  comparison op = comparison::less;
  std::optional<metric_operand> rhs_metric;  // set when comparing two metrics; then value is unused
  double value = 0;                          // in base units (seconds, bytes) when rhs_metric is empty
  value_unit unit = value_unit::none;
  std::string value_text;  // the value as written ("50ms"), so to_string round-trips exactly
  friend bool operator==(const threshold&, const threshold&) = default;
};

// Parses one threshold. Errors (kind validation) name the text, the column (1-based) and what is
// allowed there, e.g. "'p99(x) < 5ms': unknown metric 'x'; known: op_latency_seconds, ...".
[[nodiscard]] result<threshold> parse_threshold(std::string_view text);

// Canonical text: single spaces around the operator, none elsewhere, labels in written order.
// parse_threshold(to_string(t)) == t.
[[nodiscard]] std::string to_string(const threshold& t);
[[nodiscard]] std::string to_string(const metric_operand& operand);
[[nodiscard]] std::string_view to_string(aggregation agg) noexcept;
[[nodiscard]] std::string_view to_string(comparison op) noexcept;

// lhs OP rhs, for the gate.
[[nodiscard]] constexpr bool holds(comparison op, double lhs, double rhs) noexcept {
  switch (op) {
    case comparison::less: return lhs < rhs;
    case comparison::less_equal: return lhs <= rhs;
    case comparison::greater: return lhs > rhs;
    case comparison::greater_equal: return lhs >= rhs;
    case comparison::equal: return lhs == rhs;
    case comparison::not_equal: return lhs != rhs;
  }
  return false;
}

}  // namespace gpusoak::scenarios
