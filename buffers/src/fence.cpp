#include "gpusoak/buffers/fence.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <chrono>
#include <utility>

#include "context_core.hpp"

namespace gpusoak::gpu {

fence fence::insert(context& ctx) {
  return insert(ctx.core());
}

fence fence::insert(std::shared_ptr<detail::context_core> core) {
  core->check_thread();
  fence made;
  made.sync_ = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
  made.core_ = std::move(core);
  return made;
}

fence::~fence() {
  reset();
}

fence::fence(fence&& other) noexcept : core_(std::move(other.core_)), sync_(std::exchange(other.sync_, nullptr)) {}

fence& fence::operator=(fence&& other) noexcept {
  if (this != &other) {
    reset();
    core_ = std::move(other.core_);
    sync_ = std::exchange(other.sync_, nullptr);
  }
  return *this;
}

void fence::reset() noexcept {
  if (sync_ != nullptr && core_->alive.load(std::memory_order_acquire)) {
    glDeleteSync(static_cast<GLsync>(sync_));
  }
  sync_ = nullptr;
}

bool fence::signaled() const {
  if (sync_ == nullptr) {
    return true;
  }
  core_->check_thread();
  GLint status = GL_UNSIGNALED;
  glGetSynciv(static_cast<GLsync>(sync_), GL_SYNC_STATUS, 1, nullptr, &status);
  return status == GL_SIGNALED;
}

result<void> fence::wait(std::chrono::nanoseconds timeout) {
  if (sync_ == nullptr) {
    return {};
  }
  core_->check_thread();
  auto* sync = static_cast<GLsync>(sync_);
  // Poll first: no flush, no block; most fences of a healthy pipeline are already passed.
  GLenum status = glClientWaitSync(sync, 0, 0);
  if (status == GL_ALREADY_SIGNALED || status == GL_CONDITION_SATISFIED) {
    reset();
    return {};
  }
  const auto start = std::chrono::steady_clock::now();
  status = glClientWaitSync(sync, GL_SYNC_FLUSH_COMMANDS_BIT, static_cast<GLuint64>(timeout.count()));
  const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
  core_->stats.on_fence_wait(static_cast<std::uint64_t>(waited.count()));
  if (status == GL_ALREADY_SIGNALED || status == GL_CONDITION_SATISFIED) {
    reset();
    return {};
  }
  // A GPU that does not pass a fence within the bound is treated as lost: the watchdog rebuilds.
  return make_error(error_kind::context_lost,
                    status == GL_TIMEOUT_EXPIRED
                        ? fmt::format("fence not signaled after {} ms", timeout.count() / 1'000'000)
                        : fmt::format("glClientWaitSync failed (GL_WAIT_FAILED, GL error 0x{:04x})", glGetError()));
}

}  // namespace gpusoak::gpu
