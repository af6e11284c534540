#include "upload_paths.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <initializer_list>

#include "gpusoak/bench/upload_bench.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::bench::detail {
namespace {

class strategy_path final : public upload_path {
 public:
  explicit strategy_path(gpu::unified_buffer buffer) : buffer_(std::move(buffer)) {}
  gpu::result<std::span<std::byte>> begin() override { return buffer_.cpu_view(); }
  gpu::result<void> end() override { return buffer_.make_visible_to_gpu(); }
  unsigned gl_name() const noexcept override { return buffer_.gl_name(); }
  bool gpu_reads_cpu_memory() const noexcept override { return buffer_.is_mapped(); }

 private:
  gpu::unified_buffer buffer_;
};

// The classic streaming upload: map with INVALIDATE_BUFFER (the driver may orphan instead of
// waiting for the GPU), write, unmap. Raw GL on purpose: it is the baseline the layer replaces.
class map_write_unmap final : public upload_path {
 public:
  map_write_unmap(unsigned name, std::uint64_t size) : name_(name), size_(size) {}
  ~map_write_unmap() override {
    if (mapped_) {
      glUnmapNamedBuffer(name_);
    }
    glDeleteBuffers(1, &name_);
  }
  map_write_unmap(const map_write_unmap&) = delete;
  map_write_unmap& operator=(const map_write_unmap&) = delete;

  gpu::result<std::span<std::byte>> begin() override {
    void* pointer = glMapNamedBufferRange(name_, 0, static_cast<GLsizeiptr>(size_),
                                          GL_MAP_WRITE_BIT | GL_MAP_INVALIDATE_BUFFER_BIT);
    if (pointer == nullptr) {
      return gpu::make_error(
          gpu::error_kind::internal,
          fmt::format("glMapNamedBufferRange({} bytes) failed, GL error 0x{:04x}", size_, glGetError()));
    }
    mapped_ = true;
    return std::span(static_cast<std::byte*>(pointer), size_);
  }
  gpu::result<void> end() override {
    mapped_ = false;
    if (glUnmapNamedBuffer(name_) != GL_TRUE) {
      // GL_FALSE means the store was corrupted while mapped (e.g. a mode switch): data lost.
      return gpu::make_error(gpu::error_kind::internal, "glUnmapNamedBuffer returned GL_FALSE: contents undefined");
    }
    return {};
  }
  unsigned gl_name() const noexcept override { return name_; }
  bool gpu_reads_cpu_memory() const noexcept override { return false; }  // unmapped before the GPU reads

 private:
  unsigned name_;
  std::uint64_t size_;
  bool mapped_ = false;
};

}  // namespace

gpu::result<path_spec> parse_path(std::string_view name) {
  if (name == map_write_unmap_path) {
    return path_spec{std::string(name), std::nullopt};
  }
  auto strategy = gpu::parse_strategy(name);
  if (!strategy) {
    return gpu::make_error(gpu::error_kind::validation,
                           fmt::format("unknown path '{}': use a strategy name or {}", name, map_write_unmap_path));
  }
  return path_spec{std::string(name), *strategy};
}

std::string unsupported_reason(const gpu::capabilities& caps, gpu::strategy strategy) {
  if (gpu::is_supported(caps, strategy)) {
    return "";
  }
  // Names the mask only where it is the reason: "pinned needs AMD_pinned_memory (masked: coherent)"
  // would send the reader after the wrong switch.
  const auto masked = [&](std::initializer_list<gpu::capability_mask> causes) -> std::string {
    auto applied = gpu::parse_capability_mask(caps.masked);
    if (!applied) return "";
    for (const gpu::capability_mask& cause : causes) {
      if ((cause.buffer_storage && applied->buffer_storage) || (cause.coherent && applied->coherent) ||
          (cause.pinned && applied->pinned)) {
        return fmt::format(" (masked: {})", caps.masked);
      }
    }
    return "";
  };
  switch (strategy) {
    case gpu::strategy::persistent_coherent:
      return "unsupported: persistent_coherent needs GL_ARB_buffer_storage with coherent maps" +
             masked({{.buffer_storage = true}, {.coherent = true}});
    case gpu::strategy::persistent_flush:
      return caps.ext.ARB_buffer_storage
                 ? std::string("unsupported: persistent_flush: explicit flush is broken here")
                 : "unsupported: persistent_flush needs GL_ARB_buffer_storage" + masked({{.buffer_storage = true}});
    case gpu::strategy::pinned_host:
      return "unsupported: pinned_host needs GL_AMD_pinned_memory" + masked({{.pinned = true}});
    case gpu::strategy::device_local_staged:
    case gpu::strategy::staging_copy: break;
  }
  return "unsupported";
}

gpu::result<std::unique_ptr<upload_path>> make_upload_path(gpu::context& ctx, const path_spec& spec,
                                                           std::uint64_t size) {
  if (!spec.strategy) {
    GLuint name = 0;
    while (glGetError() != GL_NO_ERROR) {
    }  // so the check below sees only this allocation
    glCreateBuffers(1, &name);
    glNamedBufferData(name, static_cast<GLsizeiptr>(size), nullptr, GL_STREAM_DRAW);
    if (const GLenum error = glGetError(); error != GL_NO_ERROR) {
      glDeleteBuffers(1, &name);
      return gpu::make_error(error == GL_OUT_OF_MEMORY ? gpu::error_kind::out_of_memory : gpu::error_kind::internal,
                             fmt::format("glNamedBufferData({} bytes) failed, GL error 0x{:04x}", size, error));
    }
    return std::make_unique<map_write_unmap>(name, size);
  }
  auto buffer = gpu::unified_buffer::create(ctx, gpu::buffer_desc{.size = size,
                                                                  .use = gpu::usage::stream_to_gpu,
                                                                  .preferred = *spec.strategy,
                                                                  .allow_fallback = false,
                                                                  .tag = fmt::format("bench_upload_{}", spec.name)});
  if (!buffer) {
    return std::unexpected(buffer.error());
  }
  if (buffer->strategy() != *spec.strategy) {
    return gpu::make_error(gpu::error_kind::internal,
                           fmt::format("asked for {} without fallback but got {}", gpu::to_string(*spec.strategy),
                                       gpu::to_string(buffer->strategy())));
  }
  return std::make_unique<strategy_path>(std::move(*buffer));
}

}  // namespace gpusoak::bench::detail
