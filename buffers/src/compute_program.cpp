#include "gpusoak/buffers/compute_program.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <string>
#include <utility>

#include "context_core.hpp"

namespace gpusoak::gpu {
namespace {

std::string info_log(GLuint object, bool program) {
  GLint length = 0;
  program ? glGetProgramiv(object, GL_INFO_LOG_LENGTH, &length) : glGetShaderiv(object, GL_INFO_LOG_LENGTH, &length);
  std::string log(static_cast<std::size_t>(std::max(length, 1)), '\0');
  program ? glGetProgramInfoLog(object, length, nullptr, log.data())
          : glGetShaderInfoLog(object, length, nullptr, log.data());
  return log.c_str();
}

}  // namespace

result<compute_program> compute_program::create(context& ctx, std::string_view source) {
  ctx.check_thread();
  const GLuint shader = glCreateShader(GL_COMPUTE_SHADER);
  const char* text = source.data();
  const auto length = static_cast<GLint>(source.size());
  glShaderSource(shader, 1, &text, &length);
  glCompileShader(shader);
  GLint ok = GL_FALSE;
  glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
  if (ok != GL_TRUE) {
    auto log = info_log(shader, false);
    glDeleteShader(shader);
    return make_error(error_kind::validation, "compute shader does not compile: " + log);
  }
  compute_program made;
  made.core_ = ctx.core();
  made.program_ = glCreateProgram();
  glAttachShader(made.program_, shader);
  glLinkProgram(made.program_);
  glDeleteShader(shader);  // flagged; freed with the program
  glGetProgramiv(made.program_, GL_LINK_STATUS, &ok);
  if (ok != GL_TRUE) {
    return make_error(error_kind::validation, "compute program does not link: " + info_log(made.program_, true));
  }
  GLint size[3] = {1, 1, 1};
  glGetProgramiv(made.program_, GL_COMPUTE_WORK_GROUP_SIZE, size);
  made.local_size_ = {static_cast<std::uint32_t>(size[0]), static_cast<std::uint32_t>(size[1]),
                      static_cast<std::uint32_t>(size[2])};
  return made;
}

compute_program::~compute_program() {
  if (program_ != 0 && core_->alive.load(std::memory_order_acquire)) {
    core_->check_thread();
    glDeleteProgram(program_);
  }
}

compute_program::compute_program(compute_program&& other) noexcept
    : core_(std::move(other.core_)), program_(std::exchange(other.program_, 0)), local_size_(other.local_size_) {}

compute_program& compute_program::operator=(compute_program&& other) noexcept {
  if (this != &other) {
    compute_program old(std::move(*this));
    core_ = std::move(other.core_);
    program_ = std::exchange(other.program_, 0);
    local_size_ = other.local_size_;
  }
  return *this;
}

std::uint32_t compute_program::groups_for(std::uint64_t invocations) const noexcept {
  return static_cast<std::uint32_t>((invocations + local_size_[0] - 1) / local_size_[0]);
}

void compute_program::use() const {
  core_->check_thread();
  glUseProgram(program_);
}

}  // namespace gpusoak::gpu
