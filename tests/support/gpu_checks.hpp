// GPU-side halves of the data checks: a compute shader that checksums a byte range of a buffer
// (so "the GPU read exactly what the CPU wrote" is decided by the GPU), and one that fills a
// byte range with a seeded pattern (so "the CPU read exactly what the GPU wrote" is too).
#pragma once

#include <cstdint>
#include <span>

#include "gpusoak/buffers/compute_program.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::test {

// Position-weighted: a shifted, swapped or stale byte changes the sum.
std::uint32_t cpu_checksum(std::span<const std::byte> bytes, std::uint64_t first_index = 0);
// Byte i of the fill pattern for `seed`.
std::uint8_t pattern_byte(std::uint32_t seed, std::uint64_t index);

class gpu_checks {
 public:
  explicit gpu_checks(gpu::context& ctx);
  ~gpu_checks();
  gpu_checks(const gpu_checks&) = delete;
  gpu_checks& operator=(const gpu_checks&) = delete;

  // Checksum of bytes [offset, offset+size) of `buffer_name`, as computed by a shader; blocks
  // until the result is back (through a staging readback of 4 bytes: the checker is not the
  // thing under test).
  std::uint32_t checksum(unsigned buffer_name, std::uint64_t offset, std::uint64_t size);
  // Dispatches a fill of bytes [offset, offset+size) with pattern_byte(seed, i - offset);
  // bytes outside the range are left as they were.
  void fill(unsigned buffer_name, std::uint64_t offset, std::uint64_t size, std::uint32_t seed);
  // Like checksum, but first spins `spin` iterations per invocation (a slow reader), and
  // writes the result to slot `slot` of `results_name` without waiting.
  void checksum_async(unsigned buffer_name, std::uint64_t offset, std::uint64_t size, unsigned results_name,
                      std::uint32_t slot, std::uint32_t spin);

 private:
  gpu::context& ctx_;
  gpu::compute_program checksum_;
  gpu::compute_program fill_;
  unsigned result_ = 0;
  unsigned texture_ = 0;  // buffer texture viewing the buffer under test byte by byte
};

}  // namespace gpusoak::test
