// The consumer of the upload benchmark: a compute shader that reads every 32-bit word of a
// buffer range and adds them into a result slot, so no compiler can drop the reads and the
// benchmark can check that the GPU saw exactly what the producer wrote.
#pragma once

#include <cstdint>
#include <vector>

#include "gpusoak/buffers/compute_program.hpp"
#include "gpusoak/buffers/context.hpp"

namespace gpusoak::bench::detail {

class read_every_byte {
 public:
  // Grid-stride loop: at most this many work groups, however large the range.
  static constexpr std::uint32_t max_groups = 1024;

  // Compiles the shader and makes a result buffer of `slots` 32-bit sums, on ctx's thread.
  [[nodiscard]] static gpu::result<read_every_byte> create(gpu::context& ctx, std::uint32_t slots);

  read_every_byte() = default;
  ~read_every_byte();
  read_every_byte(read_every_byte&& other) noexcept;
  read_every_byte& operator=(read_every_byte&& other) noexcept;
  read_every_byte(const read_every_byte&) = delete;
  read_every_byte& operator=(const read_every_byte&) = delete;

  // Issues one dispatch reading [offset, offset + size) of GL buffer `buffer` (offset aligned for
  // SSBO binding, size a multiple of 4) and adding the words' sum to slot `slot`. Only issues:
  // the caller fences. Dispatches in flight together add into distinct slots, so they need no
  // barrier between them.
  void dispatch(unsigned buffer, std::uint64_t offset, std::uint64_t size, std::uint32_t slot) const;
  // Zeroes every slot, after earlier dispatches' atomics and before later ones.
  void clear() const;
  // Waits for the dispatches issued so far and returns the first `count` slots.
  [[nodiscard]] std::vector<std::uint32_t> read(std::uint32_t count) const;
  [[nodiscard]] std::uint32_t slots() const noexcept { return slots_; }

 private:
  gpu::compute_program program_;
  unsigned result_ = 0;    // GL buffer of slots_ uints the shader adds into; device memory
  unsigned readback_ = 0;  // its copy for the CPU (see read()); both die with the object

  std::uint32_t slots_ = 0;
  int words_location_ = -1;
  int slot_location_ = -1;
};

}  // namespace gpusoak::bench::detail
