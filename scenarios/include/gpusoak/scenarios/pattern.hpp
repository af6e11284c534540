// Seeded memory patterns, memtest-style: every buffer a scenario touches is filled with a pattern
// derived from a seed and verified when it is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace gpusoak::scenarios {

// The 8-byte word at word index i of the pattern for `seed` (splitmix64 of seed and i): no two
// neighbouring words or seeds share a value, so a shifted, swapped or stale block shows.
[[nodiscard]] std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t index) noexcept;

// Fills bytes with the pattern (a tail shorter than a word gets the word's low bytes).
void fill_pattern(std::span<std::byte> bytes, std::uint64_t seed) noexcept;

struct pattern_mismatch {
  std::uint64_t offset = 0;  // first byte that differs
  std::uint8_t expected = 0;
  std::uint8_t actual = 0;
  std::uint64_t bad_bytes = 0;                 // how many bytes differ in all
  [[nodiscard]] std::string describe() const;  // "offset 4096: expected 0x3a, read 0x00 (12 bytes differ)"
};

// nullopt when bytes hold the pattern for `seed`, else the first mismatch.
[[nodiscard]] std::optional<pattern_mismatch> verify_pattern(std::span<const std::byte> bytes,
                                                             std::uint64_t seed) noexcept;

// Mixes a scenario seed with an object serial into a pattern seed.
[[nodiscard]] std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t serial) noexcept;

}  // namespace gpusoak::scenarios
