#include "scenario_params.hpp"

#include <fmt/ranges.h>

namespace gpusoak::scenarios::detail {

namespace {
const param_value* find(const scenario_params& params, std::string_view name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

std::string shown(const param_value& value) {
  return value.is_list ? fmt::format("[{}]", fmt::join(value.items, ", "))
                       : (value.items.empty() ? std::string() : value.items.front());
}

gpu::result<const std::string*> scalar(std::string_view scenario, std::string_view name, const param_value& value,
                                       std::string_view allowed) {
  if (value.is_list || value.items.size() != 1) return bad_param(scenario, name, value, allowed);
  return &value.items.front();
}
}  // namespace

std::unexpected<gpu::buffer_error> bad_param(std::string_view scenario, std::string_view param,
                                             const param_value& value, std::string_view allowed) {
  return gpu::make_error(gpu::error_kind::validation, fmt::format("line {}: {}.params.{}: '{}' is not allowed; use {}",
                                                                  value.line, scenario, param, shown(value), allowed));
}

gpu::result<void> check_param_names(std::string_view scenario, const scenario_params& params,
                                    std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : params) {
    bool known = false;
    for (const auto a : allowed) known = known || a == name;
    if (!known) {
      return gpu::make_error(
          gpu::error_kind::validation,
          fmt::format("line {}: {}.params.{}: unknown param; allowed: {}", value.line, scenario, name,
                      allowed.size() == 0 ? "none" : fmt::format("{}", fmt::join(allowed, ", "))));
    }
  }
  return {};
}

gpu::result<std::uint64_t> read_bytes(std::string_view scenario, const scenario_params& params, std::string_view name,
                                      std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  const param_value* value = find(params, name);
  if (value == nullptr) return fallback;
  const std::string allowed =
      fmt::format("a byte size from {} to {} (e.g. 4096, 256KiB, 64MiB)", format_bytes(min), format_bytes(max));
  auto text = scalar(scenario, name, *value, allowed);
  if (!text) return std::unexpected(text.error());
  const auto bytes = parse_bytes(**text);
  if (!bytes || *bytes < min || *bytes > max) return bad_param(scenario, name, *value, allowed);
  return *bytes;
}

gpu::result<std::uint64_t> read_count(std::string_view scenario, const scenario_params& params, std::string_view name,
                                      std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  const param_value* value = find(params, name);
  if (value == nullptr) return fallback;
  const std::string allowed = fmt::format("a whole number from {} to {}", min, max);
  auto text = scalar(scenario, name, *value, allowed);
  if (!text) return std::unexpected(text.error());
  const std::string& s = **text;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n < min || n > max) {
    return bad_param(scenario, name, *value, allowed);
  }
  return n;
}

gpu::result<std::string> read_choice(std::string_view scenario, const scenario_params& params, std::string_view name,
                                     std::string_view fallback, std::initializer_list<std::string_view> choices) {
  const param_value* value = find(params, name);
  if (value == nullptr) return std::string(fallback);
  const std::string allowed = fmt::format("one of {}", fmt::join(choices, ", "));
  auto text = scalar(scenario, name, *value, allowed);
  if (!text) return std::unexpected(text.error());
  for (const auto c : choices) {
    if (c == **text) return **text;
  }
  return bad_param(scenario, name, *value, allowed);
}

gpu::result<std::chrono::microseconds> read_duration(std::string_view scenario, const scenario_params& params,
                                                     std::string_view name, std::chrono::microseconds fallback) {
  const param_value* value = find(params, name);
  if (value == nullptr) return fallback;
  const std::string_view allowed = "a duration > 0 with us, ms, s, m or h (e.g. 250ms)";
  auto text = scalar(scenario, name, *value, allowed);
  if (!text) return std::unexpected(text.error());
  const auto d = parse_duration(**text);
  if (!d) return bad_param(scenario, name, *value, allowed);
  return *d;
}

gpu::result<std::vector<std::string>> read_list(std::string_view scenario, const scenario_params& params,
                                                std::string_view name, std::vector<std::string> fallback) {
  const param_value* value = find(params, name);
  if (value == nullptr) return fallback;
  if (value->items.empty()) return bad_param(scenario, name, *value, "a non-empty list");
  return value->items;
}

}  // namespace gpusoak::scenarios::detail
