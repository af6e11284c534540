// Internal to the harness (namespace detail): what a run ran (run_provenance) as the report and the gate show it, one
// way for all.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gpusoak/harness/run_model.hpp"

namespace gpusoak::harness::detail {

// The stored mask as shown: "buffer_storage,coherent", "none", or "not recorded" (schema 1 runs).
[[nodiscard]] std::string mask_text(const std::optional<std::string>& mask);

// {"mask", "gpusoak_version", "gpusoak_commit", "plan_sha256", "gl_vendor", "gl_renderer",
// "gl_version", "vendor_class", "usage_strategies": {usage: strategy}, "scenario_strategies":
// {scenario: [strategy, ...]}}; a value not recorded is null.
[[nodiscard]] nlohmann::json provenance_json(const run_provenance& p);

// Name and value pairs in a fixed order (the JSON's keys, then "usage.NAME" and "scenario.NAME",
// a scenario's strategies joined by ","); a value not recorded reads "not recorded".
[[nodiscard]] std::vector<std::pair<std::string, std::string>> provenance_facts(const run_provenance& p);

}  // namespace gpusoak::harness::detail
