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
// one, see winograd_in_one_dispatch()). docs/mapping_strategies.md and
// docs/performance.md have the numbers.
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
// inputs read and write host memory in place (copies_over_bus()).
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
// same way. A row of 16 tiles is 32 output pixels: a warp's stores of one output row cover whole lines.
// On the H100 (N1 C16 64x64 K16, past the producer): 16x1 tiles with 4 channels a chunk
// 40.9-51.1 µs, 8x2 with 4 41.3-48.2, 16x1 with 8 43.5-49.7, 8x2 with 8 46.1-50.3, 4x4 with 8
// 48.9-56.6.
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

  // groups > 1: direct. Else winograd where it applies and K >= gemm_min_channels or
  // C >= winograd_min_in_channels: on the H100 it beat every other kernel on each 3x3 stride-1
  // shape measured with K >= 32 (back to back, device memory: N1 C64 56x56 0.031 ms, N32 C128
  // 28x28 0.228 against gemm_wide's 0.525), and on N1 C16 64x64 K16 (0.021 against tiled's
  // 0.034), not on N1 C3 32x32 K16 (0.020 against 0.016). Else tiled where it applies and
  // K < gemm_min_channels. Else gemm_wide when the shape has at least gemm_wide_min_tiles of its
  // 64x128 tiles, else gemm. The same on both paths: over a bus the kernels run between bus
  // copies (copies_over_bus()), so they read device memory there too.
  // On a discrete GPU (`discrete`: !capabilities::uma) winograd also takes the shapes below those
  // channel counts when it runs them in one dispatch (winograd_in_one_dispatch): on the H100 it beat
  // tiled on every such shape measured, sync zero-copy input to output, N1 C3 32x32 K16 24-27
  // against 37-39 µs, N1 C8 64x64 K8 31-35 against 54-63 (device memory, staging: 9.5 against
  // 16.4 µs of kernel). Not on llvmpipe: N1 C8 64x64 K8 16.6 against tiled's 4.2 ms.
  [[nodiscard]] static conv2d_kernel pick(const conv2d_shape& shape, bool discrete) noexcept;
  // Whether a session on `path` reads its input over a bus: zero-copy on a discrete GPU.
  [[nodiscard]] static bool input_over_bus(const gpu::capabilities& caps, conv2d_path path) noexcept {
    return path == conv2d_path::zero_copy && !caps.uma;
  }
  // Whether a session of `kernel` on `shape` whose input is read over a bus runs the kernel in
  // device memory between two bus copies (conv2d_bus_copy.comp: the input in, the output out,
  // 16 bytes at a time) instead of reading and writing host memory in place, 4 bytes at a time
  // and several times over. On the H100 (kernel alone, without -> with the copies) they won for
  // every kernel and shape measured: gemm_wide N32 C128 28x28 K256 1x1 13.2 -> 0.90 ms, gemm
  // N8 C64 56x56 K128 3x3 s2 1.77 -> 0.33 ms, gemm N1 C256 14x14 1x1 172 -> 73 µs, winograd
  // N32 C128 28x28 0.86 -> 0.73 ms, tiled N1 C16 64x64 78 -> 60 µs; except on small inputs,
  // where two more launches and barriers cost more than the copies save: tiled below
  // tiled_bus_copy_min_bytes (N1 C3 32x32 K16, 12 KB: 22.6 -> 24.4 µs), winograd below
  // winograd_bus_copy_min_bytes (N1 C16 64x64 K16, 256 KB: 37 -> 45 µs; N1 C64 56x56, 800 KB:
  // 83 -> 94 µs), whose transforms read the input in rows and store the output in pixel pairs.
  [[nodiscard]] static bool copies_over_bus(conv2d_kernel kernel, const conv2d_shape& shape) noexcept {
    const std::uint64_t input_bytes = shape.input_elements() * sizeof(float);
    if (kernel == conv2d_kernel::tiled) return input_bytes >= tiled_bus_copy_min_bytes;
    if (kernel == conv2d_kernel::winograd) return input_bytes >= winograd_bus_copy_min_bytes;
    return true;
  }
  // Between the two tiled inputs measured (12 and 256 KB); a guess, not a measured crossover.
  static constexpr std::uint64_t tiled_bus_copy_min_bytes = std::uint64_t{64} << 10;
  // Between 800 KB (in place wins) and 6.4 MB (N8 C64 56x56: even, 0.36 ms both ways); at
  // 12.8 MB in place loses (N32 C128 28x28, above). Not a measured crossover.
  static constexpr std::uint64_t winograd_bus_copy_min_bytes = std::uint64_t{2} << 20;
  // Whether a winograd session on `shape` runs its three steps in one dispatch
  // (conv2d_winograd_one_dispatch.comp: no V or M scratch, no barrier) instead of three. A small
  // conv's time is mostly per-dispatch cost; a group of the one dispatch reduces over the input
  // channels in series, so it is for few of them. On the H100 (sync zero-copy, input to output,
  // rounds in one call, one against three): N1 C16 64x64 K16 (256 KB) 41-56 µs against 57-66,
  // N1 C32 64x64 K32 (512 KB) 76-90 against 95-123, N1 C16 128x128 K16 (1 MB) 112-121 against
  // 135-161, N2 C64 56x56 K64 (1.6 MB) 133-161 against 184-192, N1 C64 56x56 (800 KB) 106-147
  // against 129-136; with more channels it lost: N1 C96 28x28 84-98 against 78-91, N1 C256 14x14
  // 220-240 against 98-102. The input limit is winograd_bus_copy_min_bytes: the one dispatch
  // reads and writes host memory in place, as the three do below it.
  [[nodiscard]] static bool winograd_in_one_dispatch(const conv2d_shape& shape) noexcept {
    return shape.input_elements() * sizeof(float) < winograd_bus_copy_min_bytes &&
           shape.c <= winograd_one_dispatch_max_in_channels;
  }
  // Between 64 (one dispatch won) and 96 (it lost); not a measured crossover.
  static constexpr std::uint32_t winograd_one_dispatch_max_in_channels = 64;
  // Whether `kernel` can run `shape` (direct always can; automatic means pick()).
  [[nodiscard]] static bool supports(conv2d_kernel kernel, const conv2d_shape& shape) noexcept;

  // The kernel's program; for winograd, the batched GEMM (the middle of its dispatches).
  [[nodiscard]] const gpu::compute_program& program(conv2d_kernel kernel) const noexcept;

  // Below this many output channels a 64-channel gemm tile is mostly idle; tiled's 8 fit.
  static constexpr std::uint32_t gemm_min_channels = 32;
  // From this many input channels winograd's GEMMs have reduction enough to win with fewer
  // output channels too (see pick()).
  static constexpr std::uint32_t winograd_min_in_channels = 16;
  // H100: gemm_wide wins from 392 tiles (N32 C128 28x28: 0.53 against 0.65 ms; N32 C64 56x56,
  // 784 tiles: 0.51 against 0.55) and loses at 196 (N8 C64 56x56: 0.22 against 0.15 ms): too
  // few groups for 114 SMs. 64x64 tiles give twice as many.
  static constexpr std::uint64_t gemm_wide_min_tiles = 256;

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
  gpu::compute_program winograd_one_dispatch_;  // winograd_in_one_dispatch()
  gpu::compute_program bus_copy_;               // host memory <-> device scratch (copies_over_bus())

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
  // (16 K C alone when winograd_in_one_dispatch), and N (C H W + K P Q) more when the input is
  // read over a bus (input and output in device memory).
  [[nodiscard]] static gpu::result<conv2d_session> create(gpu::context& ctx,
                                                          std::shared_ptr<const conv2d_kernels> kernels,
                                                          const conv2d_shape& shape, const session_options& options);

  conv2d_session(conv2d_session&&) noexcept;
  conv2d_session& operator=(conv2d_session&&) noexcept;
  ~conv2d_session();

  [[nodiscard]] const conv2d_shape& shape() const noexcept { return shape_; }
  [[nodiscard]] conv2d_path path() const noexcept { return path_; }
  [[nodiscard]] conv2d_kernel kernel() const noexcept { return kernel_; }  // never automatic
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

  gpu::context* ctx_ = nullptr;
  std::shared_ptr<const conv2d_kernels> kernels_;
  conv2d_shape shape_;
  conv2d_path path_ = conv2d_path::zero_copy;
  conv2d_kernel kernel_ = conv2d_kernel::direct;
  std::chrono::nanoseconds timeout_{};
  gpu::unified_buffer weights_;
  gpu::unified_buffer bias_;
  // winograd only (empty otherwise): U[16][K][C], V[16][C][T], M[16][K][T], see conv2d_winograd.comp.
  gpu::scratch_buffer winograd_u_;
  gpu::scratch_buffer winograd_v_;
  gpu::scratch_buffer winograd_m_;
  // With copies_over_bus() and the input read over a bus: the input and the output in device
  // memory, moved across the bus once per conv by the bus copy (empty otherwise).
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
