// conv2d forward on GL compute shaders, over unified buffers.
//
// conv2d_kernels compiles the shaders once per context and picks one per shape: direct (any
// shape, one output per invocation), tiled (groups 1, 1x1/3x3: the input patch in shared memory,
// 8 channels per invocation), gemm (groups 1, any kernel: an implicit GEMM, 64x64 tiles, a 4x4
// register block per invocation), gemm_wide (the same with 64x128 tiles and 4x8 blocks, for
// problems large enough to fill the GPU with them) and winograd (groups 1, 3x3, stride 1,
// dilation 1: Winograd F(2x2, 3x3), 2.25x fewer multiplies, as three dispatches per conv, input
// transform, 16 batched GEMMs (gemm_wide's shader and tiles), output transform, through GPU-only
// scratch, four times the input and output in GPU memory; small inputs with few channels in
// one, conv2d_session::winograd_in_one_dispatch()). docs/kernels.md says how the pick is made
// and why.
// conv2d_session owns the buffers of one shape and runs it on one of two paths:
//
//   path        input (per batch)                  weights, bias         output
//   zero_copy   CPU writes into a persistent map   resident (matrix's    read through a map after
//               (or pinned memory): no copy        gpu_reads_many pick,  a fence: no copy
//   staging     host array, glNamedBufferSubData   written once)         glGetNamedBufferSubData
//
// On a discrete GPU the zero_copy input and output sit in host memory across the bus; most
// kernels then run between two bus copies, shaders that move the input into device scratch and
// the output back, once each and 16 bytes at a time (no API copy); tiled and winograd on small
// inputs read and write host memory in place (conv2d_session::copies_over_bus()).
//
// Layout of every buffer: float32, tightly packed from the start of the buffer, which is 64-byte
// aligned in the CPU view. input()[((n*C + c)*H + ih)*W + iw], weights()[((k*C/groups + c)*R +
// r)*S + s], output[((n*K + k)*P + p)*Q + q]. Rows are not padded: a row starts 64-byte aligned
// only where W*4 is a multiple of 64; the producer writes whole cache lines when it writes rows in
// order, which is the one access pattern a write-combined map rewards.
//
// Pipelining: a session has `pipeline_depth` slots, each an input and an output buffer and a
// fence. A slot goes free -> begun (begin(): CPU writes input) -> in flight (submit(): dispatched
// and fenced) -> done (finish(): waited, output readable) -> begun again. The CPU fills slot k+1
// while the GPU computes slot k, and waits only in finish(), which the caller needs only when
// every slot is in flight. run() is begin's slot, submitted and finished at once.
//
// Thread safety: none; everything runs on the context's thread. The session holds a reference to
// its context, which must outlive it (as for every GL object of the buffer layer).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/compute_program.hpp"
#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/fence.hpp"
#include "gpusoak/buffers/gpu_timer.hpp"
#include "gpusoak/buffers/scratch_buffer.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"

namespace gpusoak::kernels {
namespace detail {
struct reduction_pass;  // kernels/src/reduction_split.hpp
}

enum class conv2d_path { zero_copy, staging };
enum class conv2d_kernel { automatic, direct, tiled, gemm, gemm_wide, winograd };

[[nodiscard]] std::string_view to_string(conv2d_path path) noexcept;
[[nodiscard]] std::string_view to_string(conv2d_kernel kernel) noexcept;
[[nodiscard]] gpu::result<conv2d_path> parse_conv2d_path(std::string_view text);  // "zero-copy", "staging"
// "auto" (automatic), "direct", "tiled", "gemm", "gemm_wide", "winograd".
[[nodiscard]] gpu::result<conv2d_kernel> parse_conv2d_kernel(std::string_view text);

// Why the zero-copy path cannot run on a context with these capabilities, or nullopt when it can.
// It needs a mapped strategy (persistent_coherent, persistent_flush, pinned_host) as the decision
// matrix's choice (gpu::choose_strategy) for the input (stream_to_gpu) and the output
// (gpu_to_cpu); a mask (--disable buffer_storage) or a driver without buffer storage leaves the
// matrix at staging_copy. Pure: no GL calls.
[[nodiscard]] std::optional<std::string> zero_copy_unavailable(const gpu::capabilities& caps);
// The path a caller asking for `wanted` runs on: zero_copy where available, else the matrix's
// fallback, the staging path (staging_copy input and output). staging stays staging.
[[nodiscard]] conv2d_path available_path(const gpu::capabilities& caps, conv2d_path wanted);

// The tiled kernel's compile-time tiling, injected into the shader as #defines (the tile's
// width and height are its work group size, read back from the program).
struct tiled_params {
  static constexpr std::uint32_t out_channels = 8;  // accumulators per invocation
  static constexpr std::uint32_t in_channels = 8;   // input channels per shared-memory block
  static constexpr std::uint32_t max_kernel = 3;    // R == S <= this
  static constexpr std::uint32_t max_stride = 2;    // stride_h == stride_w <= this
};

// The one-dispatch winograd kernel's block (conv2d_winograd_one_dispatch.comp), injected the
// same way. A row of 16 tiles is 32 output pixels: a warp's stores of one output row cover whole
// lines. docs/kernels.md has the block sizes measured against it.
struct winograd_one_dispatch_params {
  static constexpr std::uint32_t tiles_w = 16;       // output tiles (2x2 pixels) per group, along Q
  static constexpr std::uint32_t tiles_h = 1;        // and along P; tiles_w * tiles_h == 16
  static constexpr std::uint32_t out_channels = 16;  // per group: local_size_y
  static constexpr std::uint32_t in_channels = 4;    // per shared-memory chunk
};

class conv2d_kernels {
 public:
  // The context's programs: compiled and linked on first use on ctx's thread, then found in the
  // context's cache (context::find_cached). `validation` carries the compiler log.
  [[nodiscard]] static gpu::result<std::shared_ptr<const conv2d_kernels>> create(gpu::context& ctx);

  // The kernel `automatic` runs on `shape` on a context with `caps`: direct for grouped convs;
  // winograd for 3x3 stride-1 dilation-1 shapes with many output or input channels (on NVIDIA
  // discrete GPUs also small ones with few); tiled for few output channels where it applies;
  // else gemm, or gemm_wide on problems large enough to fill the GPU with its tiles. The
  // thresholds come from a table chosen by vendor and by discrete or UMA; docs/kernels.md lists
  // them and the measurements behind them. Never a kernel supports() refuses on `caps`, unless
  // every kernel does (then direct, whose session refuses the shape with the reason). Pure.
  [[nodiscard]] static conv2d_kernel pick(const conv2d_shape& shape, const gpu::capabilities& caps);
  // Whether a session on `path` reads its input over a bus: zero-copy on a discrete GPU.
  [[nodiscard]] static bool input_over_bus(const gpu::capabilities& caps, conv2d_path path) noexcept {
    return path == conv2d_path::zero_copy && !caps.uma;
  }
  // Whether `kernel` (automatic: pick()) can run `shape` on a context with `caps`: by its design
  // (`validation`: "kernel tiled cannot run shape '...': tiled needs groups 1, ..."), and within
  // the driver's loop-iteration cap (`unsupported`, naming the cap: a kernel splits a long
  // reduction into passes, and refuses only where even that cannot fit). Pure.
  [[nodiscard]] static gpu::result<void> supports(conv2d_kernel kernel, const conv2d_shape& shape,
                                                  const gpu::capabilities& caps);

  // The kernel's program; for winograd, the batched GEMM (the middle of its dispatches).
  [[nodiscard]] const gpu::compute_program& program(conv2d_kernel kernel) const noexcept;

 private:
  gpu::compute_program direct_;
  gpu::compute_program tiled_;
  gpu::compute_program gemm_;
  gpu::compute_program gemm_wide_;
  // winograd: the three transforms (conv2d_winograd.comp) and the batched GEMM (conv2d_gemm.comp
  // with GEMM_BATCHED, 64x128 tiles).
  gpu::compute_program winograd_weights_;
  gpu::compute_program winograd_input_;
  gpu::compute_program winograd_gemm_;
  gpu::compute_program winograd_output_;
  gpu::compute_program winograd_one_dispatch_;  // conv2d_session::winograd_in_one_dispatch()
  gpu::compute_program bus_copy_;               // host memory <-> device scratch (conv2d_session::copies_over_bus())

  friend class conv2d_session;
};

struct session_options {
  conv2d_path path = conv2d_path::zero_copy;
  std::uint32_t pipeline_depth = 1;                             // slots, >= 1
  conv2d_kernel kernel = conv2d_kernel::automatic;              // force one (tests, benchmarks)
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);  // per fence wait: a software
                                                                // rasterizer takes seconds on large batches
  std::string tag = "conv2d";                                   // prefixes every buffer's tag
  bool time_kernel = false;                                     // a GPU timer query around each dispatch: kernel_time()
  // Whether the input is read over a bus (the bus copies); default: from the
  // context, conv2d_kernels::input_over_bus. Tests set it to run the bus path on a UMA driver.
  std::optional<bool> input_over_bus;
};

class conv2d_session {
 public:
  // Validates the shape and creates every buffer. zero_copy: input and output must get a
  // mapped strategy (tried in the matrix's order for stream_to_gpu and gpu_to_cpu, mapped ones
  // only), else `unsupported`. staging: input and output are staging_copy, no fallback.
  // Weights and bias follow the matrix for gpu_reads_many on both paths. winograd also gets
  // GPU-only scratch shared by the slots: 16 (K C + C T + K T) floats, T = N ceil(P/2) ceil(Q/2)
  // (16 K C alone when winograd_in_one_dispatch()), and N (C H W + K P Q) more when the kernel
  // runs between bus copies (copies_over_bus(): input and output in device memory).
  [[nodiscard]] static gpu::result<conv2d_session> create(gpu::context& ctx,
                                                          std::shared_ptr<const conv2d_kernels> kernels,
                                                          const conv2d_shape& shape, const session_options& options);

  conv2d_session(conv2d_session&&) noexcept;
  conv2d_session& operator=(conv2d_session&&) noexcept;
  ~conv2d_session();

  [[nodiscard]] const conv2d_shape& shape() const noexcept { return shape_; }
  [[nodiscard]] conv2d_path path() const noexcept { return path_; }
  [[nodiscard]] conv2d_kernel kernel() const noexcept { return kernel_; }  // never automatic
  // winograd only: whether its three steps run in one dispatch (conv2d_winograd_one_dispatch.comp:
  // no V or M scratch, no barrier); set for small inputs with few input channels.
  [[nodiscard]] bool winograd_in_one_dispatch() const noexcept { return one_dispatch_; }
  // Whether the kernel runs in device memory between two bus copies (conv2d_bus_copy.comp: the
  // input in, the output out, 16 bytes at a time) instead of reading and writing the slots' host
  // memory in place. Only when the input is read over a bus; there for most kernels and shapes.
  [[nodiscard]] bool copies_over_bus() const noexcept { return device_input_.gl_name() != 0; }
  [[nodiscard]] std::uint32_t depth() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] gpu::strategy input_strategy() const noexcept;
  [[nodiscard]] gpu::strategy output_strategy() const noexcept;
  [[nodiscard]] gpu::strategy weight_strategy() const noexcept;

  // Write the weights (and bias) here, then commit_weights() once; write-only views. winograd:
  // commit_weights() also dispatches the weight transform (GPU work, ordered before later convs).
  [[nodiscard]] std::span<float> weights() noexcept;
  [[nodiscard]] std::span<float> bias() noexcept;  // empty without bias
  [[nodiscard]] gpu::result<void> commit_weights();

  // Fills every slot's output with NaN and makes that visible to the GPU (staging: one upload
  // per slot), so an element the kernel fails to write shows up. No slot may be in flight.
  [[nodiscard]] gpu::result<void> poison_outputs();

  // The input of the slot the next begin() or run() uses; write-only (may be write-combined).
  // Valid while that slot is not in flight.
  [[nodiscard]] std::span<float> input() noexcept;
  // Copies `values` (input_elements() floats) into that input through unified_buffer::write: one
  // copy, counted as copy_path::cpu_memcpy on every path. For a producer that already has the
  // batch in a private array; writing into input() makes none. `validation` on a size mismatch.
  [[nodiscard]] gpu::result<void> write_input(std::span<const float> values);
  // Synchronous: begin + submit + finish. The view is valid until the slot is begun again.
  [[nodiscard]] gpu::result<std::span<const float>> run();

  // Takes the next slot for writing and returns its input. `validation` when that slot is in
  // flight (the ring is full: finish() first) or a slot is already begun.
  [[nodiscard]] gpu::result<std::span<float>> begin();
  // Publishes the begun slot's input, dispatches the kernel and fences it. Never waits.
  [[nodiscard]] gpu::result<void> submit();
  // Waits for the oldest slot in flight and returns its output (readable until the slot is
  // begun again). `validation` when none is in flight; a wait past the timeout is context_lost.
  [[nodiscard]] gpu::result<std::span<const float>> finish();
  // With options.time_kernel: the GPU time of the dispatch of the slot finish() last returned
  // (the kernel alone: on the staging path the upload comes before it; winograd: all of its
  // per-conv dispatches; with bus copies, from the copy in to the copy out). Empty otherwise.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> kernel_time() const noexcept { return kernel_time_; }
  // Profiling: runs the kernel `count` times back to back on the slot finish() last returned
  // (same input, output rewritten with the same values), each in its own timer query, and
  // returns their GPU times. Back to back keeps the GPU at its working clock, as cuDNN's conv
  // alone is timed; one dispatch between CPU work may run at an idle clock. `validation` when a
  // slot is in flight or none has finished.
  [[nodiscard]] gpu::result<std::vector<std::chrono::nanoseconds>> time_dispatches(int count);

 private:
  struct slot {
    gpu::unified_buffer input;
    gpu::unified_buffer output;
    gpu::fence done;
    gpu::gpu_timer timer;
  };
  conv2d_session() = default;
  void dispatch(const slot& s, bool timed) const;
  // The kernel alone, from `input` to `output` (the slot's buffers, or device scratch between
  // bus copies); inside dispatch()'s timer and barriers.
  void dispatch_kernel(unsigned input, unsigned output) const;
  void dispatch_winograd(unsigned input, unsigned output) const;
  void bus_copy(unsigned from, unsigned to, std::uint64_t floats) const;
  // Dispatches `program` (uniforms and buffers set) once per pass, `groups` each.
  void dispatch_passes(const gpu::compute_program& program, const std::array<std::uint64_t, 3>& groups) const;

  gpu::context* ctx_ = nullptr;
  std::shared_ptr<const conv2d_kernels> kernels_;
  conv2d_shape shape_;
  conv2d_path path_ = conv2d_path::zero_copy;
  conv2d_kernel kernel_ = conv2d_kernel::direct;
  bool one_dispatch_ = false;  // winograd_in_one_dispatch()
  // The reduction's passes (one unless the driver caps loop iterations): dispatch_kernel runs each.
  std::vector<detail::reduction_pass> passes_;
  std::chrono::nanoseconds timeout_{};
  gpu::unified_buffer weights_;
  gpu::unified_buffer bias_;
  // winograd only (empty otherwise): U[16][K][C], V[16][C][T], M[16][K][T], see conv2d_winograd.comp.
  gpu::scratch_buffer winograd_u_;
  gpu::scratch_buffer winograd_v_;
  gpu::scratch_buffer winograd_m_;
  // With copies_over_bus(): the input and the output in device memory, moved across the bus
  // once per conv by the bus copy (empty otherwise).
  gpu::scratch_buffer device_input_;
  gpu::scratch_buffer device_output_;
  std::vector<slot> slots_;
  std::uint32_t next_ = 0;    // the slot begin() takes
  std::uint32_t oldest_ = 0;  // the oldest slot in flight
  std::uint32_t in_flight_ = 0;
  bool begun_ = false;
  std::optional<std::chrono::nanoseconds> kernel_time_;
};

}  // namespace gpusoak::kernels
