// Typed converters for values with units ("256KiB", "64MiB"); they reject what they do not
// understand and say what is allowed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::harness {

// "4096", "4KiB", "64MiB", "1GiB" (binary units; B optional). Errors name the text.
[[nodiscard]] gpu::result<std::uint64_t> parse_bytes(std::string_view text);
// Comma-separated list of parse_bytes values.
[[nodiscard]] gpu::result<std::vector<std::uint64_t>> parse_byte_list(std::string_view text);
// 1536 -> "1.5 KiB"; exact multiples print without decimals ("64 MiB").
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace gpusoak::harness
