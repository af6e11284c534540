#include "producer.hpp"

#include <bit>
#include <cstring>

namespace gpusoak::bench::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "the shader's word order assumes little endian");

// A Weyl sequence: word i is start(seed) + i * step. Consecutive seeds give unrelated-looking
// words, so data left over from an earlier upload does not pass the checksum by accident.
constexpr std::uint64_t step = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t start(std::uint64_t seed) noexcept {
  return (seed + 1) * 0xd1b54a32d192ed03ull;
}

}  // namespace

void produce(std::span<std::byte> bytes, std::uint64_t seed) noexcept {
  const std::size_t words = bytes.size() / sizeof(std::uint64_t);
  // Mappings, host shadows and ring segments are at least 64-byte aligned; std::byte storage
  // handed out by GL is where these words live, so the aliasing is the point.
  auto* out = reinterpret_cast<std::uint64_t*>(bytes.data());
  std::uint64_t value = start(seed);
  for (std::size_t i = 0; i < words; ++i) {
    out[i] = value;
    value += step;
  }
  if (const std::size_t tail = bytes.size() % sizeof(std::uint64_t); tail != 0) {
    std::memcpy(bytes.data() + words * sizeof(std::uint64_t), &value, tail);  // < 8 bytes
  }
}

std::uint32_t expected_sum(std::uint64_t size, std::uint64_t seed) noexcept {
  std::uint32_t sum = 0;
  std::uint64_t value = start(seed);
  for (std::uint64_t i = 0; i < size / sizeof(std::uint64_t); ++i) {
    sum += static_cast<std::uint32_t>(value) + static_cast<std::uint32_t>(value >> 32);
    value += step;
  }
  if (size % sizeof(std::uint64_t) >= 4) {
    sum += static_cast<std::uint32_t>(value);  // sizes are multiples of 4: only a low half is left
  }
  return sum;
}

}  // namespace gpusoak::bench::detail
