#include "gpusoak/scenarios/units.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace gpusoak::scenarios {

result<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) {
    return make_error(error_kind::validation,
                      fmt::format("'{}' is not a byte size: use a number with an optional unit, e.g. 4096, "
                                  "256KiB, 64MiB, 1GiB",
                                  std::string(text)));
  }
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  constexpr std::array<std::pair<std::string_view, unsigned>, 9> units{
      {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"K", 10}, {"M", 20}, {"G", 30}}};
  for (const auto& [name, shift] : units) {
    if (unit == name) {
      if (shift > 0 && number > (~std::uint64_t{0} >> shift)) {
        return make_error(error_kind::validation, fmt::format("'{}' overflows 64 bits", std::string(text)));
      }
      return number << shift;
    }
  }
  return make_error(error_kind::validation, fmt::format("'{}': unknown unit '{}'; use B, KiB, MiB, GiB or TiB",
                                                        std::string(text), std::string(unit)));
}

result<std::vector<std::uint64_t>> parse_byte_list(std::string_view text) {
  std::vector<std::uint64_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    GPUSOAK_TRY_ASSIGN(auto value, parse_bytes(text.substr(start, comma - start)));
    out.push_back(value);
    start = comma + 1;
  }
  return out;
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::array<std::string_view, 5> names{"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024.0 && unit + 1 < names.size()) {
    value /= 1024.0;
    ++unit;
  }
  if (value == static_cast<double>(static_cast<std::uint64_t>(value))) {
    return fmt::format("{} {}", static_cast<std::uint64_t>(value), names[unit]);
  }
  return fmt::format("{:.1f} {}", value, names[unit]);
}

namespace {

struct duration_unit {
  std::string_view name;
  std::int64_t microseconds;
};
// Longest names first so "ms" is not read as "m" + "s".
constexpr std::array<duration_unit, 6> duration_units{
    {{"us", 1}, {"\u00b5s", 1}, {"ms", 1'000}, {"s", 1'000'000}, {"m", 60'000'000}, {"h", 3'600'000'000}}};
constexpr std::int64_t max_duration_us = 100'000LL * 3'600'000'000LL;  // 100000h

std::unexpected<error> not_a_duration(std::string_view text) {
  return make_error(error_kind::validation,
                    fmt::format("'{}' is not a duration; use a positive number with us, ms, s, m or h "
                                "(e.g. 30s, 2h)",
                                std::string(text)));
}

}  // namespace

result<std::chrono::microseconds> parse_duration(std::string_view text, zero_duration zero) {
  // Digits and at most one '.', nothing else, before the unit: from_chars alone would take
  // "1e3s", "inf" or "-5".
  std::size_t digits_end = 0;
  bool seen_dot = false;
  bool seen_digit = false;
  while (digits_end < text.size()) {
    const char c = text[digits_end];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
    ++digits_end;
  }
  if (!seen_digit) {
    return not_a_duration(text);
  }
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits_end, number);
  if (ec != std::errc{} || end != text.data() + digits_end) {
    return not_a_duration(text);
  }
  const std::string_view unit = text.substr(digits_end);
  if (unit.empty()) {
    return make_error(error_kind::validation, fmt::format("'{}' has no unit; add one of us, ms, s, m or h (e.g. {}s)",
                                                          std::string(text), std::string(text)));
  }
  for (const auto& [name, scale] : duration_units) {
    if (unit != name) {
      continue;
    }
    const double us = std::round(number * static_cast<double>(scale));
    if (us > static_cast<double>(max_duration_us)) {
      return make_error(error_kind::validation,
                        fmt::format("'{}' is longer than the longest allowed duration, 100000h", std::string(text)));
    }
    if (us == 0 && (number != 0 || zero == zero_duration::rejected)) {
      return make_error(
          error_kind::validation,
          fmt::format("'{}' is zero; use a positive duration of at least 1us (e.g. 30s, 2h)", std::string(text)));
    }
    return std::chrono::microseconds(static_cast<std::int64_t>(us));
  }
  return make_error(error_kind::validation, fmt::format("'{}': unknown unit '{}'; use us, ms, s, m or h (e.g. 30s, 2h)",
                                                        std::string(text), std::string(unit)));
}

std::string format_duration(std::chrono::microseconds duration) {
  const std::int64_t us = duration.count();
  if (us == 0) {
    return "0s";
  }
  constexpr std::array<duration_unit, 5> largest_first{
      {{"h", 3'600'000'000}, {"m", 60'000'000}, {"s", 1'000'000}, {"ms", 1'000}, {"us", 1}}};
  for (const auto& [name, scale] : largest_first) {
    if (us % scale == 0) {
      return fmt::format("{}{}", us / scale, name);
    }
  }
  return fmt::format("{}us", us);
}

}  // namespace gpusoak::scenarios
