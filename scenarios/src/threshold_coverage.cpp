// check_threshold_coverage: a threshold that can only ever be "no data" is a plan error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::scenarios {
namespace {

// Why no sample of a plan running `ran` can carry `op`; "" when some can.
std::string coverage_problem(const metric_operand& op, const std::set<std::string, std::less<>>& ran) {
  const metric_info* info = find_metric_info(op.metric);
  if (info == nullptr) return {};  // parse_threshold has rejected it already
  std::vector<std::string> producers;
  for (const auto name : known_scenarios) {
    if (produced_by(*info, name)) producers.emplace_back(name);
  }
  const auto label = std::ranges::find(op.labels, "scenario", &label_matcher::name);
  if (label != op.labels.end()) {
    if (!ran.contains(label->value)) {
      metric_operand series = op;
      series.agg = aggregation::none;
      return fmt::format("{} selects scenario {}, which no phase of this plan runs", to_string(series), label->value);
    }
    if (!produced_by(*info, label->value)) {
      return fmt::format("{} is produced only by {}, not by {}", op.metric, fmt::join(producers, ", "), label->value);
    }
    return {};
  }
  if (std::ranges::any_of(ran, [&](const std::string& name) { return produced_by(*info, name); })) return {};
  return fmt::format("{} is produced only by {}, which no phase of this plan runs", op.metric,
                     fmt::join(producers, ", "));
}

}  // namespace

std::vector<threshold_coverage_problem> check_threshold_coverage(const plan& p) {
  std::set<std::string, std::less<>> ran;
  for (const auto& ph : p.phases) {
    for (const auto& entry : ph.scenarios) ran.insert(entry.name);
  }
  std::vector<threshold_coverage_problem> out;
  for (std::size_t i = 0; i < p.thresholds.size(); ++i) {
    const auto& t = p.thresholds[i];
    for (const auto* op : {&t.lhs, t.rhs_metric ? &*t.rhs_metric : nullptr}) {
      if (op == nullptr) continue;
      if (auto problem = coverage_problem(*op, ran); !problem.empty()) out.push_back({i, std::move(problem)});
    }
  }
  return out;
}

}  // namespace gpusoak::scenarios
