// Back ends of unified_buffer, one per strategy family. The front end (unified_buffer.cpp)
// validates, budgets, counts and picks; a back end only creates, moves bytes and destroys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::gpu::detail {

struct context_core;

class storage {
 public:
  virtual ~storage() = default;
  // Frees GL objects and host memory. gl_alive false: the context is gone, and its objects
  // with it, so only host memory is freed.
  virtual void destroy(bool gl_alive) noexcept = 0;

  [[nodiscard]] unsigned gl_name() const noexcept { return name_; }
  [[nodiscard]] std::span<std::byte> view() const noexcept { return view_; }
  [[nodiscard]] virtual map_state mapping() const noexcept = 0;
  [[nodiscard]] virtual bool coherent() const noexcept = 0;
  [[nodiscard]] virtual bool readable() const noexcept = 0;

  // gl_mapped back ends: make CPU writes visible (non-coherent: flush). host_shadow: upload.
  [[nodiscard]] virtual result<void> to_gpu(context_core& core, std::uint64_t offset, std::uint64_t size) = 0;
  // host_shadow back ends only: copy GPU bytes into the shadow. gl_mapped ones use fences in
  // the front end and never get here.
  [[nodiscard]] virtual result<void> readback(context_core& core, std::uint64_t offset, std::uint64_t size);

 protected:
  unsigned name_ = 0;
  std::span<std::byte> view_;
};

[[nodiscard]] result<std::unique_ptr<storage>> make_persistent_storage(context_core& core, std::uint64_t size,
                                                                       usage use, bool coherent);
[[nodiscard]] result<std::unique_ptr<storage>> make_pinned_storage(context_core& core, std::uint64_t size, usage use);
[[nodiscard]] result<std::unique_ptr<storage>> make_shadowed_storage(context_core& core, std::uint64_t size, usage use,
                                                                     bool device_local);

// Clears pending GL errors, so the next check sees only the call it follows.
void clear_gl_errors() noexcept;
// Maps GL_OUT_OF_MEMORY to out_of_memory and any other error to `internal`, naming `what`.
[[nodiscard]] result<void> check_gl(const char* what, std::uint64_t size);

}  // namespace gpusoak::gpu::detail
