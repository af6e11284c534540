#include "gpusoak/scenarios/threshold.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "gpusoak/buffers/counters.hpp"  // copy_path names
#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/scenario_names.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::scenarios {
namespace {

constexpr std::array<std::pair<std::string_view, aggregation>, 10> aggregations{{
    {"p50", aggregation::p50},
    {"p90", aggregation::p90},
    {"p95", aggregation::p95},
    {"p99", aggregation::p99},
    {"p999", aggregation::p999},
    {"max", aggregation::max},
    {"min", aggregation::min},
    {"avg", aggregation::avg},
    {"rate", aggregation::rate},
    {"count", aggregation::count},
}};

// Two-character operators first so "<=" is not read as "<".
constexpr std::array<std::pair<std::string_view, comparison>, 6> comparisons{{
    {"<=", comparison::less_equal},
    {">=", comparison::greater_equal},
    {"==", comparison::equal},
    {"!=", comparison::not_equal},
    {"<", comparison::less},
    {">", comparison::greater},
}};

constexpr std::string_view aggregation_list = "p50, p90, p95, p99, p999, max, min, avg, rate, count";
constexpr std::string_view operator_list = "<, <=, >, >=, == or !=";

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& names) {
  std::string out;
  for (const auto name : names) {
    out += out.empty() ? "" : ", ";
    out += name;
  }
  return out;
}

std::string metric_list() {
  std::string out;
  for (const auto& metric : metric_catalog) {
    if (metric.storage == sample_storage::none) continue;
    out += out.empty() ? "" : ", ";
    out += metric.name;
  }
  return out;
}

// The labels a threshold on `metric` may match (metric_catalog.hpp says why these).
std::string label_list(const metric_info& metric) {
  return list_has(metric.labels, "path") ? "scenario, context or path" : "scenario or context";
}

// The copy paths a `path` label may name: the layer's copy paths, and for copies_total "hot" (copies on a
// zero-copy hot path, which the scenarios count themselves).
std::vector<std::string> path_values(const metric_info& metric) {
  std::vector<std::string> out;
  if (metric.name == "copies_total") out.emplace_back("hot");
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    out.emplace_back(gpu::to_string(static_cast<gpu::copy_path>(p)));
  }
  return out;
}

bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || (c >= '0' && c <= '9');
}

// Recursive descent over the text; every failure says where (1-based column) and what fits there.
class parser {
 public:
  explicit parser(std::string_view text) : text_(text) {}

  result<threshold> parse() {
    threshold out;
    GPUSOAK_TRY_ASSIGN(auto lhs, operand());
    out.lhs = std::move(lhs);
    GPUSOAK_TRY_ASSIGN(auto op, comparison_operator());
    out.op = op;
    skip_spaces();
    if (at_end()) {
      return fail(fmt::format("expected a value (e.g. 0, 50ms, 1MiB) or a metric after '{}'", to_string(out.op)));
    }
    if (is_identifier_start(text_[pos_])) {
      GPUSOAK_TRY_ASSIGN(auto rhs, operand());
      if (operand_unit(rhs) != operand_unit(out.lhs)) {
        return fail(fmt::format("{} and {} are measured in different units", to_string(out.lhs), to_string(rhs)));
      }
      out.rhs_metric = std::move(rhs);
    } else {
      GPUSOAK_TRY(number_with_unit(out));
    }
    skip_spaces();
    if (!at_end()) {
      return fail(fmt::format("unexpected '{}' after the value", std::string(text_.substr(pos_))));
    }
    return out;
  }

 private:
  result<metric_operand> operand() {
    metric_operand out;
    skip_spaces();
    const std::size_t start = pos_;
    std::string word = identifier();
    if (word.empty()) {
      return fail(fmt::format("expected a metric name or an aggregate ({}) followed by '('", aggregation_list));
    }
    skip_spaces();
    if (peek('(')) {
      ++pos_;
      const auto agg = find_aggregation(word);
      if (!agg) {
        pos_ = start;
        return fail(fmt::format("unknown aggregate '{}'; use {}", word, aggregation_list));
      }
      out.agg = *agg;
      GPUSOAK_TRY(series(out));
      skip_spaces();
      if (!peek(')')) {
        return fail("expected ')' after the metric");
      }
      ++pos_;
      return out;
    }
    pos_ = start;
    GPUSOAK_TRY(series(out));
    return out;
  }

  result<bool> series(metric_operand& out) {
    skip_spaces();
    const std::size_t start = pos_;
    out.metric = identifier();
    if (out.metric.empty()) {
      return fail("expected a metric name");
    }
    const metric_info* info = find_metric_info(out.metric);
    if (info == nullptr || info->storage == sample_storage::none) {
      pos_ = start;
      const std::string_view prefix = "gpusoak_";
      if (out.metric.starts_with(prefix) && find_metric(std::string_view(out.metric).substr(prefix.size()))) {
        return fail(fmt::format("write '{}' without the '{}' prefix", out.metric.substr(prefix.size()), prefix));
      }
      for (const auto& row : metric_catalog) {
        if (row.family == out.metric && row.storage != sample_storage::none) {
          return fail(fmt::format("write '{}', the samples' name for the family {}", row.name, row.family));
        }
      }
      return fail(fmt::format("unknown metric '{}'; known: {}", out.metric, metric_list()));
    }
    skip_spaces();
    if (!peek('{')) {
      return true;
    }
    ++pos_;
    skip_spaces();
    if (peek('}')) {
      ++pos_;
      return true;
    }
    while (true) {
      skip_spaces();
      const std::size_t label_start = pos_;
      label_matcher label{.name = identifier()};
      if (label.name.empty()) {
        return fail(fmt::format("expected a label name ({})", label_list(*info)));
      }
      if (label.name == "gpu" || label.name == "strategy") {
        pos_ = label_start;
        return fail(
            fmt::format("label '{}' cannot be matched: a run's samples all come from one GPU and do not "
                        "record strategies; use {}",
                        label.name, label_list(*info)));
      }
      bool known = false;
      for (const auto name : threshold_labels) known = known || name == label.name;
      if (!known) {
        pos_ = label_start;
        return fail(fmt::format("unknown label '{}'; use {}", label.name, label_list(*info)));
      }
      if (label.name == "path" && !list_has(info->labels, "path")) {
        pos_ = label_start;
        return fail(fmt::format("{} has no label 'path'; use {}", out.metric, label_list(*info)));
      }
      for (const auto& seen : out.labels) {
        if (seen.name == label.name) {
          pos_ = label_start;
          return fail(fmt::format("label '{}' appears twice", label.name));
        }
      }
      skip_spaces();
      if (!peek('=')) {
        return fail(
            fmt::format("expected '=\"value\"' after label '{}' (only exact matches are supported)", label.name));
      }
      ++pos_;
      if (peek('~')) {
        return fail(
            fmt::format("regular expressions are not supported for label '{}'; only exact matches "
                        "(label=\"value\")",
                        label.name));
      }
      skip_spaces();
      const std::size_t value_start = pos_;
      GPUSOAK_TRY_ASSIGN(auto value, quoted());
      label.value = std::move(value);
      if (label.name == "scenario" && !is_known_scenario(label.value)) {
        pos_ = value_start;
        return fail(fmt::format("unknown scenario '{}'; known: {}", label.value, join(known_scenarios)));
      }
      if (label.name == "path") {
        const auto paths = path_values(*info);
        if (std::find(paths.begin(), paths.end(), label.value) == paths.end()) {
          pos_ = value_start;
          return fail(
              fmt::format("unknown copy path '{}' for {}; known: {}", label.value, out.metric, fmt::join(paths, ", ")));
        }
      }
      out.labels.push_back(std::move(label));
      skip_spaces();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek('}')) {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' after a label");
    }
  }

  result<std::string> quoted() {
    if (!peek('"')) {
      return fail("expected a double-quoted label value");
    }
    ++pos_;
    std::string out;
    while (!at_end() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        ++pos_;
      }
      out += text_[pos_++];
    }
    if (at_end()) {
      return fail("unterminated label value: missing '\"'");
    }
    ++pos_;
    return out;
  }

  result<comparison> comparison_operator() {
    skip_spaces();
    for (const auto& [name, op] : comparisons) {
      if (text_.substr(pos_).starts_with(name)) {
        pos_ += name.size();
        if (!at_end() && (text_[pos_] == '=' || text_[pos_] == '<' || text_[pos_] == '>')) {
          pos_ -= name.size();
          break;
        }
        return op;
      }
    }
    if (at_end()) {
      return fail(fmt::format("missing comparison; use {} and a value", operator_list));
    }
    std::size_t end = pos_;
    while (end < text_.size() && text_[end] != ' ' && !is_identifier_char(text_[end])) ++end;
    if (end == pos_) end = pos_ + 1;
    return fail(
        fmt::format("'{}' is not a comparison; use {}", std::string(text_.substr(pos_, end - pos_)), operator_list));
  }

  // A number, then a unit matching the metric on the left; fills out's value fields.
  result<bool> number_with_unit(threshold& out) {
    const metric_operand& lhs = out.lhs;
    const std::size_t start = pos_;
    std::size_t end = pos_;
    while (end < text_.size() && text_[end] != ' ') ++end;
    out.value_text = std::string(text_.substr(start, end - start));
    double number = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + end;
    const auto [stop, ec] = std::from_chars(first, last, number);
    if (ec != std::errc{} || stop == first || !std::isfinite(number)) {
      return fail(fmt::format("'{}' is not a number; use e.g. 0, 0.5, 50ms or 1MiB", out.value_text));
    }
    const std::string_view unit(stop, static_cast<std::size_t>(last - stop));
    const metric_unit metric = operand_unit(lhs);
    auto duration = parse_duration(out.value_text, zero_duration::allowed);
    auto bytes = parse_bytes(out.value_text);
    if (unit.empty()) {
      out.value = number;
      out.unit = value_unit::none;
    } else if (duration) {
      if (metric != metric_unit::seconds) {
        return fail(fmt::format("'{}' is a duration but {} is not measured in seconds; use {}", out.value_text,
                                to_string(lhs), metric == metric_unit::bytes ? "a byte size or a number" : "a number"));
      }
      out.value = static_cast<double>(duration->count()) / 1e6;
      out.unit = value_unit::duration;
    } else if (bytes) {
      if (metric != metric_unit::bytes) {
        return fail(fmt::format("'{}' is a byte size but {} is not measured in bytes; use {}", out.value_text,
                                to_string(lhs),
                                metric == metric_unit::seconds ? "a duration or a number" : "a number"));
      }
      out.value = static_cast<double>(*bytes);
      out.unit = value_unit::bytes;
    } else if (is_one_of(unit, {"us", "\u00b5s", "ms", "s", "m", "h"})) {
      return fail(duration.error().message);
    } else if (is_one_of(unit, {"B", "KiB", "MiB", "GiB", "TiB", "K", "M", "G"})) {
      return fail(bytes.error().message + " (byte sizes are whole numbers: write 512KiB, not 0.5MiB)");
    } else {
      return fail(fmt::format("'{}': unknown unit '{}'; use {}", out.value_text, std::string(unit),
                              metric == metric_unit::seconds ? "us, ms, s, m or h (or none)"
                              : metric == metric_unit::bytes ? "B, KiB, MiB, GiB or TiB (or none)"
                                                             : "none: this metric takes a plain number"));
    }
    pos_ = end;
    return true;
  }

  static metric_unit operand_unit(const metric_operand& operand) {
    return operand.agg == aggregation::count ? metric_unit::count : *find_metric(operand.metric);
  }

  static bool is_one_of(std::string_view word, std::initializer_list<std::string_view> names) {
    for (const auto name : names) {
      if (word == name) {
        return true;
      }
    }
    return false;
  }

  static std::optional<aggregation> find_aggregation(std::string_view word) {
    for (const auto& [name, agg] : aggregations) {
      if (name == word) {
        return agg;
      }
    }
    return std::nullopt;
  }

  std::string identifier() {
    const std::size_t start = pos_;
    if (!at_end() && is_identifier_start(text_[pos_])) {
      while (!at_end() && is_identifier_char(text_[pos_])) ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  bool peek(char c) const { return !at_end() && text_[pos_] == c; }

  std::unexpected<error> fail(std::string what) const {
    return make_error(error_kind::validation, fmt::format("'{}': column {}: {}", std::string(text_), pos_ + 1, what));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

result<threshold> parse_threshold(std::string_view text) {
  return parser(text).parse();
}

std::string_view to_string(aggregation agg) noexcept {
  for (const auto& [name, value] : aggregations) {
    if (value == agg) {
      return name;
    }
  }
  return "";
}

std::string_view to_string(comparison op) noexcept {
  for (const auto& [name, value] : comparisons) {
    if (value == op) {
      return name;
    }
  }
  return "?";
}

std::string to_string(const metric_operand& operand) {
  std::string series = operand.metric;
  if (!operand.labels.empty()) {
    series += '{';
    for (std::size_t i = 0; i < operand.labels.size(); ++i) {
      series += fmt::format("{}{}={}", i == 0 ? "" : ",", operand.labels[i].name, quote(operand.labels[i].value));
    }
    series += '}';
  }
  if (operand.agg == aggregation::none) {
    return series;
  }
  return fmt::format("{}({})", to_string(operand.agg), series);
}

std::string to_string(const threshold& t) {
  return fmt::format("{} {} {}", to_string(t.lhs), to_string(t.op),
                     t.rhs_metric ? to_string(*t.rhs_metric) : t.value_text);
}

}  // namespace gpusoak::scenarios
