#include "scenario_params.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::scenarios::detail {

namespace {
std::string shown(const param_value& value) {
  return value.is_list ? fmt::format("[{}]", fmt::join(value.items, ", "))
                       : (value.items.empty() ? std::string() : value.items.front());
}
}  // namespace

void param_reader::allow(std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : params_) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      problems_.push_back(
          {.param = name,
           .line = value.line,
           .what = fmt::format("unknown parameter; allowed: {}",
                               allowed.size() == 0 ? "none" : fmt::format("{}", fmt::join(allowed, ", ")))});
    }
  }
}

const param_value* param_reader::find(std::string_view name) const {
  const auto it = params_.find(name);
  return it == params_.end() ? nullptr : &it->second;
}

void param_reader::problem(std::string_view name, std::string what) {
  const param_value* value = find(name);
  problems_.push_back(
      {.param = std::string(name), .line = value == nullptr ? 0 : value->line, .what = std::move(what)});
}

void param_reader::not_allowed(std::string_view name, std::string_view allowed) {
  const param_value* value = find(name);
  problem(name, fmt::format("'{}' is not allowed; use {}", value == nullptr ? "" : shown(*value), allowed));
}

const std::string* param_reader::scalar(std::string_view name, std::string_view allowed) {
  const param_value* value = find(name);
  if (value->is_list || value->items.size() != 1) {
    not_allowed(name, allowed);
    return nullptr;
  }
  return &value->items.front();
}

std::uint64_t param_reader::bytes(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  if (find(name) == nullptr) return fallback;
  const std::string allowed =
      fmt::format("a byte size from {} to {} (e.g. 4096, 256KiB, 64MiB)", format_bytes(min), format_bytes(max));
  const std::string* text = scalar(name, allowed);
  if (text == nullptr) return fallback;
  const auto value = parse_bytes(*text);
  if (!value || *value < min || *value > max) {
    not_allowed(name, allowed);
    return fallback;
  }
  return *value;
}

std::uint64_t param_reader::count(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  if (find(name) == nullptr) return fallback;
  const std::string allowed = fmt::format("a whole number from {} to {}", min, max);
  const std::string* text = scalar(name, allowed);
  if (text == nullptr) return fallback;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc{} || end != text->data() + text->size() || n < min || n > max) {
    not_allowed(name, allowed);
    return fallback;
  }
  return n;
}

std::string param_reader::choice(std::string_view name, std::string_view fallback,
                                 std::initializer_list<std::string_view> choices) {
  if (find(name) == nullptr) return std::string(fallback);
  const std::string allowed = fmt::format("one of {}", fmt::join(choices, ", "));
  const std::string* text = scalar(name, allowed);
  if (text == nullptr) return std::string(fallback);
  if (std::find(choices.begin(), choices.end(), *text) == choices.end()) {
    not_allowed(name, allowed);
    return std::string(fallback);
  }
  return *text;
}

std::chrono::microseconds param_reader::duration(std::string_view name, std::chrono::microseconds fallback,
                                                 std::chrono::microseconds min, std::chrono::microseconds max) {
  if (find(name) == nullptr) return fallback;
  const std::string allowed = fmt::format("a duration from {} to {} with us, ms, s, m or h (e.g. 250ms)",
                                          format_duration(min), format_duration(max));
  const std::string* text = scalar(name, allowed);
  if (text == nullptr) return fallback;
  const auto d = parse_duration(*text);
  if (!d || *d < min || *d > max) {
    not_allowed(name, allowed);
    return fallback;
  }
  return *d;
}

std::vector<std::string> param_reader::list(std::string_view name, std::vector<std::string> fallback,
                                            std::size_t max_items) {
  const param_value* value = find(name);
  if (value == nullptr) return fallback;
  if (value->items.empty() || value->items.size() > max_items) {
    not_allowed(name, fmt::format("a list of 1 to {} items", max_items));
    return fallback;
  }
  return value->items;
}

}  // namespace gpusoak::scenarios::detail
