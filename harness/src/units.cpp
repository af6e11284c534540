#include "gpusoak/harness/units.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <utility>

namespace gpusoak::harness {

gpu::result<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) {
    return gpu::make_error(gpu::error_kind::validation,
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
        return gpu::make_error(gpu::error_kind::validation, fmt::format("'{}' overflows 64 bits", std::string(text)));
      }
      return number << shift;
    }
  }
  return gpu::make_error(
      gpu::error_kind::validation,
      fmt::format("'{}': unknown unit '{}'; use B, KiB, MiB, GiB or TiB", std::string(text), std::string(unit)));
}

gpu::result<std::vector<std::uint64_t>> parse_byte_list(std::string_view text) {
  std::vector<std::uint64_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    auto value = parse_bytes(text.substr(start, comma - start));
    if (!value) {
      return std::unexpected(value.error());
    }
    out.push_back(*value);
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

}  // namespace gpusoak::harness
