#include "gpusoak/harness/provenance_text.hpp"

#include <algorithm>
#include <string_view>

namespace gpusoak::harness::detail {
namespace {

constexpr std::string_view not_recorded = "not recorded";

// The scalar facts in their order; "" is not recorded.
std::vector<std::pair<std::string, std::string>> scalars(const run_provenance& p) {
  return {{"gpusoak_version", p.gpusoak_version}, {"gpusoak_commit", p.gpusoak_commit},
          {"plan_sha256", p.plan_sha256},         {"gl_vendor", p.gl_vendor},
          {"gl_renderer", p.gl_renderer},         {"gl_version", p.gl_version},
          {"vendor_class", p.vendor_class}};
}

// Scenario name -> its strategies, in first-seen order.
std::vector<std::pair<std::string, std::vector<std::string>>> scenario_strategies(const run_provenance& p) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& s : p.strategies) {
    if (s.subject != strategy_subject::scenario) continue;
    auto it = std::ranges::find(out, s.name, &std::pair<std::string, std::vector<std::string>>::first);
    if (it == out.end()) it = out.insert(out.end(), {s.name, {}});
    it->second.push_back(s.strategy);
  }
  return out;
}

}  // namespace

std::string mask_text(const std::optional<std::string>& mask) {
  if (!mask) return std::string(not_recorded);
  return mask->empty() ? "none" : *mask;
}

nlohmann::json provenance_json(const run_provenance& p) {
  nlohmann::json j;
  j["mask"] = p.mask ? nlohmann::json(mask_text(p.mask)) : nlohmann::json(nullptr);
  for (const auto& [name, value] : scalars(p))
    j[name] = value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
  j["usage_strategies"] = nlohmann::json::object();
  for (const auto& s : p.strategies) {
    if (s.subject == strategy_subject::usage) j["usage_strategies"][s.name] = s.strategy;
  }
  j["scenario_strategies"] = nlohmann::json::object();
  for (const auto& [name, list] : scenario_strategies(p)) j["scenario_strategies"][name] = list;
  return j;
}

std::vector<std::pair<std::string, std::string>> provenance_facts(const run_provenance& p) {
  std::vector<std::pair<std::string, std::string>> out{{"mask", mask_text(p.mask)}};
  for (auto& [name, value] : scalars(p)) out.emplace_back(name, value.empty() ? std::string(not_recorded) : value);
  for (const auto& s : p.strategies) {
    if (s.subject == strategy_subject::usage) out.emplace_back("usage." + s.name, s.strategy);
  }
  for (const auto& [name, list] : scenario_strategies(p)) {
    std::string joined;
    for (const auto& s : list) joined += (joined.empty() ? "" : ",") + s;
    out.emplace_back("scenario." + name, joined);
  }
  return out;
}

}  // namespace gpusoak::harness::detail
