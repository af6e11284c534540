#include "gpusoak/scenarios/pattern.hpp"

#include <fmt/format.h>

#include <cstring>

namespace gpusoak::scenarios {

namespace {
constexpr std::uint64_t splitmix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t index) noexcept {
  return splitmix(seed ^ (index * 0xd1b54a32d192ed03ull));
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t serial) noexcept {
  return splitmix(splitmix(seed) + serial);
}

void fill_pattern(std::span<std::byte> bytes, std::uint64_t seed) noexcept {
  const std::size_t words = bytes.size() / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = pattern_word(seed, i);
    std::memcpy(bytes.data() + i * 8, &w, 8);
  }
  if (const std::size_t tail = bytes.size() % 8; tail != 0) {
    const std::uint64_t w = pattern_word(seed, words);
    std::memcpy(bytes.data() + words * 8, &w, tail);
  }
}

std::string pattern_mismatch::describe() const {
  return fmt::format("offset {}: expected {:#04x}, read {:#04x} ({} bytes differ)", offset, expected, actual,
                     bad_bytes);
}

std::optional<pattern_mismatch> verify_pattern(std::span<const std::byte> bytes, std::uint64_t seed) noexcept {
  std::optional<pattern_mismatch> found;
  const std::size_t words = (bytes.size() + 7) / 8;
  for (std::size_t i = 0; i < words; ++i) {
    const std::uint64_t w = pattern_word(seed, i);
    const std::size_t n = std::min<std::size_t>(8, bytes.size() - i * 8);
    std::uint64_t got = 0;
    std::memcpy(&got, bytes.data() + i * 8, n);
    const std::uint64_t mask = n == 8 ? ~0ull : ((1ull << (n * 8)) - 1);
    if (((got ^ w) & mask) == 0) continue;
    for (std::size_t b = 0; b < n; ++b) {
      const auto e = static_cast<std::uint8_t>(w >> (8 * b));
      const auto a = static_cast<std::uint8_t>(got >> (8 * b));
      if (e == a) continue;
      if (!found) found = pattern_mismatch{.offset = i * 8 + b, .expected = e, .actual = a};
      ++found->bad_bytes;
    }
  }
  return found;
}

}  // namespace gpusoak::scenarios
