// Typed converters for values with units ("256KiB", "64MiB", "500us", "2h"); they reject what they
// do not understand and say what is allowed. Plans, thresholds and command-line flags all use them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"

namespace gpusoak::scenarios {

// "4096", "4KiB", "64MiB", "1GiB" (binary units; B optional). Errors name the text.
[[nodiscard]] result<std::uint64_t> parse_bytes(std::string_view text);
// Comma-separated list of parse_bytes values.
[[nodiscard]] result<std::vector<std::uint64_t>> parse_byte_list(std::string_view text);
// 1536 -> "1.5 KiB"; exact multiples print without decimals ("64 MiB").
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

// Whether a duration of zero is meaningful where it is parsed (a threshold "< 0s" is; a phase
// that lasts 0s is not).
enum class zero_duration { rejected, allowed };

// "500us", "250ms", "30s", "2m", "2h", "24h", "1.5h": a non-negative decimal number followed by one
// of us (or µs), ms, s, m, h. A unit is required; negative values, unknown units and durations
// over 100000h are rejected, and so is zero unless `zero` says otherwise. Fractions below a
// microsecond are rounded to the nearest microsecond; a non-zero value that rounds to 0 is an
// error. Errors name the text and list the units.
[[nodiscard]] result<std::chrono::microseconds> parse_duration(std::string_view text,
                                                               zero_duration zero = zero_duration::rejected);
// The largest unit that divides the duration exactly: 7200s -> "2h", 90s -> "90s", 1500us -> "1500us".
// parse_duration(format_duration(d)) == d for every d >= 1us.
[[nodiscard]] std::string format_duration(std::chrono::microseconds duration);

}  // namespace gpusoak::scenarios
