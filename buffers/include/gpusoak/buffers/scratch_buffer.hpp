// scratch_buffer: GPU-only storage with no CPU view, for intermediates that shaders write and
// read and the CPU never touches (the Winograd conv2d's transformed tiles).
//
// Why not a unified_buffer: every strategy there has a CPU view, and the two that keep data in
// device memory (device_local_staged, staging_copy) allocate a host shadow of the same size,
// which for scratch is pure waste (the Winograd scratch of one N32 C128 28x28 shape is about
// 100 MB). This is immutable storage with no map flags (glNamedBufferStorage(size, nullptr, 0)),
// which the driver is free to keep in VRAM; it has no strategy, no map state and no
// make_visible_* calls: ordering its shader writes before later reads is the caller's, through
// glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT).
//
// Accounting is the buffer layer's: it reserves from the context's budget, counts in the
// allocation counters and is a live record (strategy "gpu_only") in leak reports.
// Thread safety: none; create and destroy on the context's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gpusoak/buffers/context.hpp"

namespace gpusoak::gpu {

class scratch_buffer {
 public:
  // size > 0 bytes, else `validation`; out_of_memory from the budget or the driver. On failure
  // nothing is allocated or reserved.
  [[nodiscard]] static result<scratch_buffer> create(context& ctx, std::uint64_t size, std::string tag);

  scratch_buffer() noexcept;
  ~scratch_buffer();
  scratch_buffer(scratch_buffer&& other) noexcept;
  scratch_buffer& operator=(scratch_buffer&& other) noexcept;
  scratch_buffer(const scratch_buffer&) = delete;
  scratch_buffer& operator=(const scratch_buffer&) = delete;

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] unsigned gl_name() const noexcept { return name_; }  // 0 when empty or moved-from
  [[nodiscard]] const std::string& tag() const noexcept { return tag_; }

 private:
  void destroy() noexcept;

  std::shared_ptr<detail::context_core> core_;
  unsigned name_ = 0;
  std::uint64_t id_ = 0;
  std::uint64_t size_ = 0;
  std::string tag_;
};

}  // namespace gpusoak::gpu
