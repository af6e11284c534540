// A GL_TIME_ELAPSED query: the GPU's time for the commands between begin() and end(), read after
// the caller has waited for them (a fence), so read() does not stall. Owned like every GL object
// of the buffer layer: created, used and destroyed on its context's thread.
#pragma once

#include <glad/gl.h>

#include <chrono>
#include <optional>
#include <utility>

namespace gpusoak::gpu {

class gpu_timer {
 public:
  gpu_timer() = default;  // none: begin/end do nothing, read() is empty
  static gpu_timer create() {
    gpu_timer timer;
    glCreateQueries(GL_TIME_ELAPSED, 1, &timer.name_);
    return timer;
  }
  gpu_timer(gpu_timer&& other) noexcept : name_(std::exchange(other.name_, 0)) {}
  gpu_timer& operator=(gpu_timer&& other) noexcept {
    std::swap(name_, other.name_);
    return *this;
  }
  gpu_timer(const gpu_timer&) = delete;
  gpu_timer& operator=(const gpu_timer&) = delete;
  ~gpu_timer() {
    if (name_ != 0) glDeleteQueries(1, &name_);
  }

  void begin() const {
    if (name_ != 0) glBeginQuery(GL_TIME_ELAPSED, name_);
  }
  void end() const {
    if (name_ != 0) glEndQuery(GL_TIME_ELAPSED);
  }
  [[nodiscard]] std::optional<std::chrono::nanoseconds> read() const {
    if (name_ == 0) return std::nullopt;
    GLuint64 elapsed = 0;
    glGetQueryObjectui64v(name_, GL_QUERY_RESULT, &elapsed);
    return std::chrono::nanoseconds(static_cast<std::int64_t>(elapsed));
  }

 private:
  GLuint name_ = 0;
};

}  // namespace gpusoak::gpu
