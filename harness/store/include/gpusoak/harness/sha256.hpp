// SHA-256 (FIPS 180-4), for the plan hash a run records: a plan's identity that survives renames
// and copies between machines. Small and dependency-free; none of the libraries gpusoak already
// links offers a hash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace gpusoak::harness {

// The 32-byte digest of `bytes`.
[[nodiscard]] std::array<std::uint8_t, 32> sha256(std::string_view bytes) noexcept;
// The digest as 64 lower-case hex digits ("ba7816bf..." for "abc").
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace gpusoak::harness
