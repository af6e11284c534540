// Writes a benchmark's JSON result file; every benchmark reports the same way.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace gpusoak::bench::detail {

// Pretty-printed, newline-terminated. False when the file could not be written completely.
[[nodiscard]] bool write_json_file(const std::string& path, const nlohmann::json& document);

}  // namespace gpusoak::bench::detail
