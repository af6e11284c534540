// Private helpers for scenarios to read their parameters: each error names the param, its plan
// line and what is allowed.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/error.hpp"
#include "gpusoak/scenarios/scenario.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::scenarios::detail {

// Fails when params holds a name not in `allowed`, listing the allowed ones.
[[nodiscard]] gpu::result<void> check_param_names(std::string_view scenario, const scenario_params& params,
                                                  std::initializer_list<std::string_view> allowed);

[[nodiscard]] std::unexpected<gpu::buffer_error> bad_param(std::string_view scenario, std::string_view param,
                                                           const param_value& value, std::string_view allowed);

// Each reader returns `fallback` when the param is absent.
[[nodiscard]] gpu::result<std::uint64_t> read_bytes(std::string_view scenario, const scenario_params& params,
                                                    std::string_view name, std::uint64_t fallback, std::uint64_t min,
                                                    std::uint64_t max);
[[nodiscard]] gpu::result<std::uint64_t> read_count(std::string_view scenario, const scenario_params& params,
                                                    std::string_view name, std::uint64_t fallback, std::uint64_t min,
                                                    std::uint64_t max);
[[nodiscard]] gpu::result<std::string> read_choice(std::string_view scenario, const scenario_params& params,
                                                   std::string_view name, std::string_view fallback,
                                                   std::initializer_list<std::string_view> choices);
[[nodiscard]] gpu::result<std::chrono::microseconds> read_duration(std::string_view scenario,
                                                                   const scenario_params& params, std::string_view name,
                                                                   std::chrono::microseconds fallback);
// A list (or a single scalar) of text items.
[[nodiscard]] gpu::result<std::vector<std::string>> read_list(std::string_view scenario, const scenario_params& params,
                                                              std::string_view name, std::vector<std::string> fallback);

}  // namespace gpusoak::scenarios::detail
