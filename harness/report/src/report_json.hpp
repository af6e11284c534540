// Shared by the report's text/JSON formatter and its HTML page (which embeds the JSON).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "gpusoak/harness/report.hpp"

namespace gpusoak::harness::detail {

// "2025-01-31T12:00:00Z" (UTC, whole seconds).
[[nodiscard]] std::string format_timestamp(timestamp t);
// report_json's document.
[[nodiscard]] nlohmann::json report_json_value(const run_report& report);

}  // namespace gpusoak::harness::detail
