// A linked GLSL compute program. Dispatch sizes come from the compiled program
// (GL_COMPUTE_WORK_GROUP_SIZE), never from a constant that can drift from the shader.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "gpusoak/buffers/context.hpp"

namespace gpusoak::gpu {

class compute_program {
 public:
  // Compiles and links on ctx's thread. `validation` carries the compiler's log.
  [[nodiscard]] static result<compute_program> create(context& ctx, std::string_view source);

  compute_program() noexcept = default;
  ~compute_program();
  compute_program(compute_program&& other) noexcept;
  compute_program& operator=(compute_program&& other) noexcept;
  compute_program(const compute_program&) = delete;
  compute_program& operator=(const compute_program&) = delete;

  [[nodiscard]] unsigned gl_name() const noexcept { return program_; }
  [[nodiscard]] std::array<std::uint32_t, 3> local_size() const noexcept { return local_size_; }
  // Work groups needed to cover `invocations` along x with the program's local size.
  [[nodiscard]] std::uint32_t groups_for(std::uint64_t invocations) const noexcept;
  // Binds the program (glUseProgram) for the uniform and dispatch calls that follow.
  void use() const;

 private:
  std::shared_ptr<detail::context_core> core_;
  unsigned program_ = 0;
  std::array<std::uint32_t, 3> local_size_{1, 1, 1};
};

}  // namespace gpusoak::gpu
