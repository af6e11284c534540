// The upload paths the benchmark compares: each buffer strategy through unified_buffer, and the
// traditional glMapNamedBufferRange / write / glUnmapNamedBuffer on a plain GL buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/strategy.hpp"

namespace gpusoak::bench::detail {

// One buffer of `size` bytes the producer fills in place. begin() hands out the bytes to write;
// end() makes them readable by GL commands issued afterwards (flush, copy or unmap).
class upload_path {
 public:
  virtual ~upload_path() = default;
  [[nodiscard]] virtual gpu::result<std::span<std::byte>> begin() = 0;
  [[nodiscard]] virtual gpu::result<void> end() = 0;
  [[nodiscard]] virtual unsigned gl_name() const noexcept = 0;
  // True when begin() hands out memory the GPU reads itself (a mapping or pinned host memory):
  // then writing it again while a dispatch still reads it is a race, and a pipeline needs
  // several buffers and fences. False when end() copies (the driver then orders the reuse).
  [[nodiscard]] virtual bool gpu_reads_cpu_memory() const noexcept = 0;
};

// A requested path: a strategy, or the raw map/write/unmap path (no strategy).
struct path_spec {
  std::string name;
  std::optional<gpu::strategy> strategy;
};
[[nodiscard]] gpu::result<path_spec> parse_path(std::string_view name);

// Why `strategy` cannot run on these capabilities, or "" when it can.
[[nodiscard]] std::string unsupported_reason(const gpu::capabilities& caps, gpu::strategy strategy);

// Creates the path's buffer. A strategy buffer is created without fallback and checked to have
// the requested strategy, so a row never silently measures another one.
[[nodiscard]] gpu::result<std::unique_ptr<upload_path>> make_upload_path(gpu::context& ctx, const path_spec& spec,
                                                                         std::uint64_t size);

}  // namespace gpusoak::bench::detail
