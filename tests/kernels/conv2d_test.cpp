// conv2d kernels against the double-precision reference, on random shapes of every family.
#include "gpusoak/kernels/conv2d.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <thread>
#include <utility>

#include "conv2d_checks.hpp"
#include "gl_fixture.hpp"

namespace gpusoak::kernels {
namespace {

using rng_t = std::mt19937_64;

std::uint32_t pick(rng_t& rng, std::uint32_t lo, std::uint32_t hi) {
  return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
}

struct family {
  const char* name;
  std::function<conv2d_shape(rng_t&)> draw;  // small shapes: llvmpipe is slow
  friend void PrintTo(const family& f, std::ostream* os) { *os << f.name; }
};

// Sizes stay small; channel counts are deliberately not multiples of the tiled kernel's blocks
// unless the family says otherwise.
const family families[] = {
    {"one_by_one",
     [](rng_t& g) {
       return conv2d_shape{.n = 1, .c = pick(g, 1, 20), .h = pick(g, 1, 17), .w = pick(g, 1, 17), .k = pick(g, 1, 20)};
     }},
    {"three_by_three",
     [](rng_t& g) {
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 12),
                           .h = pick(g, 3, 20),
                           .w = pick(g, 3, 20),
                           .k = pick(g, 1, 12),
                           .r = 3,
                           .s = 3,
                           .pad_h = 1,
                           .pad_w = 1,
                           .bias = true};
     }},
    {"five_by_five",
     [](rng_t& g) {
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 6),
                           .h = pick(g, 5, 16),
                           .w = pick(g, 5, 16),
                           .k = pick(g, 1, 8),
                           .r = 5,
                           .s = 5,
                           .pad_h = pick(g, 0, 2),
                           .pad_w = pick(g, 0, 2)};
     }},
    {"strided",
     [](rng_t& g) {
       const std::uint32_t stride = pick(g, 2, 3);
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 10),
                           .h = pick(g, 3, 24),
                           .w = pick(g, 3, 24),
                           .k = pick(g, 1, 10),
                           .r = 3,
                           .s = 3,
                           .stride_h = stride,
                           .stride_w = stride,
                           .pad_h = 1,
                           .pad_w = 1};
     }},
    {"dilated",
     [](rng_t& g) {
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 6),
                           .h = pick(g, 9, 18),
                           .w = pick(g, 9, 18),
                           .k = pick(g, 1, 6),
                           .r = 3,
                           .s = 3,
                           .pad_h = pick(g, 0, 2),
                           .pad_w = pick(g, 0, 2),
                           .dilation_h = pick(g, 2, 3),
                           .dilation_w = pick(g, 1, 3)};
     }},
    {"padded",
     [](rng_t& g) {
       const std::uint32_t r = pick(g, 1, 3) * 2 - 1;
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 6),
                           .h = pick(g, 1, 12),
                           .w = pick(g, 1, 12),
                           .k = pick(g, 1, 6),
                           .r = r,
                           .s = r,
                           .pad_h = pick(g, r / 2, r),
                           .pad_w = pick(g, r / 2, r),
                           .bias = true};
     }},
    {"grouped",
     [](rng_t& g) {
       const std::uint32_t groups = pick(g, 2, 4);
       return conv2d_shape{.n = 1,
                           .c = groups * pick(g, 1, 4),
                           .h = pick(g, 3, 14),
                           .w = pick(g, 3, 14),
                           .k = groups * pick(g, 1, 4),
                           .r = 3,
                           .s = 3,
                           .pad_h = 1,
                           .pad_w = 1,
                           .groups = groups};
     }},
    {"depthwise",
     [](rng_t& g) {
       const std::uint32_t c = pick(g, 2, 16);
       return conv2d_shape{.n = pick(g, 1, 2),
                           .c = c,
                           .h = pick(g, 3, 16),
                           .w = pick(g, 3, 16),
                           .k = c,
                           .r = 3,
                           .s = 3,
                           .stride_h = pick(g, 1, 2),
                           .stride_w = pick(g, 1, 2),
                           .pad_h = 1,
                           .pad_w = 1,
                           .groups = c,
                           .bias = true};
     }},
    {"batched",
     [](rng_t& g) {
       return conv2d_shape{.n = pick(g, 2, 5),
                           .c = pick(g, 1, 9),
                           .h = pick(g, 3, 12),
                           .w = pick(g, 3, 12),
                           .k = pick(g, 1, 9),
                           .r = 3,
                           .s = 3,
                           .pad_h = 1,
                           .pad_w = 1};
     }},
    {"non_square",
     [](rng_t& g) {
       return conv2d_shape{.n = 1,
                           .c = pick(g, 1, 6),
                           .h = pick(g, 5, 9),
                           .w = pick(g, 20, 40),
                           .k = pick(g, 1, 6),
                           .r = pick(g, 1, 3),
                           .s = pick(g, 3, 5),
                           .stride_h = pick(g, 1, 2),
                           .stride_w = pick(g, 1, 3),
                           .pad_w = pick(g, 0, 2)};
     }},
    {"odd_channels",  // channels that are not a multiple of the tile's channel blocks
     [](rng_t& g) {
       return conv2d_shape{.n = 1,
                           .c = 8 * pick(g, 1, 2) + pick(g, 1, 7),
                           .h = pick(g, 17, 26),
                           .w = pick(g, 17, 26),
                           .k = 8 * pick(g, 1, 2) + pick(g, 1, 7),
                           .r = 3,
                           .s = 3,
                           .pad_h = 1,
                           .pad_w = 1,
                           .bias = true};
     }},
};

constexpr int shapes_per_family = 5;

// Every kernel, for the tests that run each one that supports a shape.
constexpr conv2d_kernel all_kernels[] = {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm,
                                         conv2d_kernel::gemm_wide, conv2d_kernel::winograd};

// An error and the bound it must stay under: the relative L2 error for the direct-sum kernels,
// the conditioned error for winograd (conv2d_checks.hpp says why).
struct measured {
  double error = 1.0;
  double limit = 0.0;
  [[nodiscard]] bool ok() const { return error < limit; }
  friend std::ostream& operator<<(std::ostream& os, const measured& m) {
    return os << "error " << m.error << " (limit " << m.limit << ")";
  }
};

measured check_output(const conv2d_shape& shape, conv2d_kernel kernel, std::span<const float> input,
                      const test::conv2d_data& data, std::span<const float> out) {
  if (kernel == conv2d_kernel::winograd) {
    return {test::conditioned_error(shape, input, data, out), test::winograd_tolerance};
  }
  return {test::error_vs_reference(shape, input, data, out), test::tolerance};
}

// Runs a fresh `session` once with random weights and input, outputs NaN-poisoned first; returns
// the error. `after_run` goes between the run and the check, so that the check also covers what
// it does to the output.
measured run_once(conv2d_session& session, rng_t& rng, const std::function<void(conv2d_session&)>& after_run = {}) {
  const conv2d_shape& shape = session.shape();
  const test::conv2d_data data = test::fill_weights(session, rng);
  EXPECT_TRUE(session.commit_weights());
  EXPECT_TRUE(session.poison_outputs());
  // The input is produced straight into the session's buffer; a twin generator (same state)
  // produces the host copy the reference reads.
  rng_t twin = rng;
  test::fill_random(session.input(), rng);
  std::vector<float> input(shape.input_elements());
  test::fill_random(input, twin);
  auto out = session.run();
  EXPECT_TRUE(out) << out.error().message;
  if (!out) return {};
  if (after_run) after_run(session);
  return check_output(shape, session.kernel(), input, data, *out);
}

// Runs `shape` on `kernel` and `path` with fresh random input; returns the error.
measured run_once(gpu::context& ctx, const std::shared_ptr<const conv2d_kernels>& kernels, const conv2d_shape& shape,
                  conv2d_kernel kernel, conv2d_path path, rng_t& rng) {
  auto session = conv2d_session::create(ctx, kernels, shape, {.path = path, .kernel = kernel});
  EXPECT_TRUE(session) << session.error().message;
  if (!session) return {};
  EXPECT_EQ(session->kernel(), kernel);
  return run_once(*session, rng);
}

using test::Conv2dOnAContext;

class Conv2dKernels : public Conv2dOnAContext {};
class Conv2dPipeline : public Conv2dOnAContext {};
class Conv2dSession : public Conv2dOnAContext {};
class Conv2dWinograd : public Conv2dOnAContext {};
class Conv2dKernelTime : public Conv2dOnAContext {};

class Conv2dFamily : public Conv2dOnAContext, public ::testing::WithParamInterface<family> {};

// checks random shapes of one family against the reference, on every kernel that can run them,
// zero-copy (and the first shape also on the staging path); outputs are NaN-poisoned first
TEST_P(Conv2dFamily, MatchesTheReference) {
  for (int i = 0; i < shapes_per_family; ++i) {
    const conv2d_shape shape = GetParam().draw(rng_);
    ASSERT_TRUE(shape.validate()) << shape.to_string() << ": " << shape.validate().error().message;
    for (const conv2d_kernel kernel : all_kernels) {
      if (!conv2d_kernels::supports(kernel, shape, ctx_->caps())) continue;
      for (const conv2d_path path : {conv2d_path::zero_copy, conv2d_path::staging}) {
        if (path == conv2d_path::staging && i > 0) continue;
        const measured m = run_once(*ctx_, kernels_, shape, kernel, path, rng_);
        EXPECT_TRUE(m.ok()) << m << ": " << shape.to_string() << " on " << to_string(kernel) << ", " << to_string(path);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dFamily, ::testing::ValuesIn(families),
                         [](const auto& info) { return std::string(info.param.name); });

// checks that an automatic session runs the kernel pick() names for this context's capabilities
// (tests/kernels/kernel_choice_test.cpp checks the choice rule by rule), one of each kind here,
// and that its output matches the reference
TEST_F(Conv2dSession, AutomaticRunsWhatPickNames) {
  struct expected_pick {
    const char* shape;
    conv2d_kernel kernel;  // on llvmpipe (a UMA table)
  };
  for (const auto& [text, kernel] : {expected_pick{"N1 C16 10x12 K8 3x3 p1", conv2d_kernel::winograd},
                                     expected_pick{"N1 C3 12x12 K5 3x3 p1", conv2d_kernel::tiled},
                                     expected_pick{"N1 C4 9x9 K33 3x3 s2 p1", conv2d_kernel::gemm},
                                     expected_pick{"N8 C2 64x64 K64 1x1", conv2d_kernel::gemm_wide},
                                     expected_pick{"N1 C8 9x9 K8 3x3 g4 p1", conv2d_kernel::direct}}) {
    const conv2d_shape shape = *parse_conv2d_shape(text);
    const conv2d_kernel picked = conv2d_kernels::pick(shape, ctx_->caps());
    if (ctx_->caps().vendor_kind == gpu::vendor_class::mesa_software) {
      EXPECT_EQ(picked, kernel) << text;
    }
    auto session = conv2d_session::create(*ctx_, kernels_, shape, {.kernel = conv2d_kernel::automatic});
    ASSERT_TRUE(session) << session.error().message;
    EXPECT_EQ(session->kernel(), picked) << text;
    const measured m = run_once(*session, rng_);
    EXPECT_TRUE(m.ok()) << m << ": " << text;
  }
}

// checks the kernel names the benchmark's --kernel flag takes, and a clear error otherwise
TEST(Conv2dDispatch, ParsesKernelNames) {
  EXPECT_EQ(parse_conv2d_kernel("auto"), conv2d_kernel::automatic);
  for (const conv2d_kernel k : all_kernels) {
    EXPECT_EQ(parse_conv2d_kernel(to_string(k)), k);
  }
  auto bad = parse_conv2d_kernel("fft");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("use auto, direct, tiled, gemm, gemm_wide or winograd"), std::string::npos);
}

// checks that programs are compiled once per context (a second create finds them) and that
// another context gets its own
TEST_F(Conv2dKernels, CompiledOncePerContext) {
  auto again = conv2d_kernels::create(*ctx_);  // the fixture made the first
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->get(), kernels_.get());
  // Another context, on its own thread (a context is current on the thread that made it).
  const conv2d_kernels* other = nullptr;
  std::thread([&] {
    auto other_ctx = test::make_context({.name = "other"});
    ASSERT_TRUE(other_ctx);
    auto made = conv2d_kernels::create(*other_ctx);
    ASSERT_TRUE(made);
    other = made->get();
    EXPECT_NE(other, kernels_.get());  // compared while both are alive
  }).join();
  EXPECT_NE(other, nullptr);
}

// checks a shape large enough for several tiles in each direction and more than one channel
// block each way, on every kernel (the random families stay small)
TEST_F(Conv2dKernels, EveryKernelMatchesOnAMidSizedShape) {
  const conv2d_shape shape = *parse_conv2d_shape("N2 C19 37x45 K21 3x3 p1 bias");
  // gemm: K past one 64-channel tile, C*R*S (171) not a multiple of its 16-element chunks, and
  // 64-pixel tiles that straddle rows and images; stride 2 for the im2col decode.
  const conv2d_shape wide = *parse_conv2d_shape("N2 C19 37x45 K70 3x3 s2 p1 bias");
  for (const conv2d_kernel kernel : {conv2d_kernel::direct, conv2d_kernel::gemm, conv2d_kernel::gemm_wide}) {
    const measured m = run_once(*ctx_, kernels_, wide, kernel, conv2d_path::zero_copy, rng_);
    EXPECT_TRUE(m.ok()) << m << ": " << to_string(kernel) << " " << wide.to_string();
  }
  // winograd: P x Q 37x45 is odd both ways (the last tiles half outside), 841 tiles straddle
  // images, K 21 and C 19 fill no GEMM tile.
  for (const conv2d_kernel kernel : all_kernels) {
    const measured m = run_once(*ctx_, kernels_, shape, kernel, conv2d_path::zero_copy, rng_);
    EXPECT_TRUE(m.ok()) << m << ": " << to_string(kernel);
  }
}

// checks that the pipelined mode returns each batch's own output, in order, with the CPU
// filling later slots while earlier ones are in flight, on both paths, with the automatic pick
// and with winograd (whose slots share one set of scratch buffers)
TEST_F(Conv2dPipeline, EveryBatchGetsItsOwnOutput) {
  const conv2d_shape shape = *parse_conv2d_shape("N2 C5 13x11 K7 3x3 p1 bias");
  for (const auto& [kernel, path] : {std::pair{conv2d_kernel::automatic, conv2d_path::zero_copy},
                                     std::pair{conv2d_kernel::automatic, conv2d_path::staging},
                                     std::pair{conv2d_kernel::winograd, conv2d_path::zero_copy},
                                     std::pair{conv2d_kernel::winograd, conv2d_path::staging}}) {
    SCOPED_TRACE(std::string(to_string(kernel)) + ", " + std::string(to_string(path)));
    rng_t rng = rng_;  // the same batches for every kernel and path
    auto session =
        conv2d_session::create(*ctx_, kernels_, shape, {.path = path, .pipeline_depth = 3, .kernel = kernel});
    ASSERT_TRUE(session) << session.error().message;
    const test::conv2d_data data = test::fill_weights(*session, rng);
    ASSERT_TRUE(session->commit_weights());
    ASSERT_TRUE(session->poison_outputs());
    constexpr int batches = 8;
    std::vector<std::vector<float>> inputs;
    int finished = 0;
    const auto check_oldest = [&] {
      auto out = session->finish();
      ASSERT_TRUE(out) << out.error().message;
      const measured m = check_output(shape, session->kernel(), inputs[finished], data, *out);
      EXPECT_TRUE(m.ok()) << m << ", batch " << finished;
      ++finished;
    };
    for (int b = 0; b < batches; ++b) {
      if (session->in_flight() == session->depth()) {
        auto refused = session->begin();  // the ring is full: begin refuses rather than overwrite
        EXPECT_FALSE(refused);
        check_oldest();
      }
      auto in = session->begin();
      ASSERT_TRUE(in) << in.error().message;
      rng_t twin = rng;
      test::fill_random(*in, rng);
      inputs.emplace_back(in->size());
      test::fill_random(inputs.back(), twin);
      ASSERT_TRUE(session->submit());
    }
    EXPECT_EQ(session->in_flight(), 3u);
    while (session->in_flight() > 0) check_oldest();
    EXPECT_EQ(finished, batches);
    EXPECT_FALSE(session->finish());  // nothing left
  }
}

// checks that a session refuses a kernel that cannot run its shape, naming both
TEST_F(Conv2dSession, RefusesTiledForADilatedShape) {
  auto session = conv2d_session::create(*ctx_, kernels_, *parse_conv2d_shape("N1 C4 9x9 K4 3x3 d2"),
                                        {.kernel = conv2d_kernel::tiled});
  ASSERT_FALSE(session);
  EXPECT_NE(session.error().message.find("tiled"), std::string::npos) << session.error().message;
}

// checks that winograd refuses every shape outside groups 1, 3x3, stride 1, dilation 1, or whose
// scratch would pass 32-bit indexing, with a validation error naming the kernel, the shape and
// what it needs, and creates nothing
TEST_F(Conv2dSession, RefusesWinogradOutsideThreeByThreeStrideOne) {
  const auto live_before = ctx_->counters().snapshot().live_buffers;
  for (const char* text : {"N1 C4 9x9 K4 3x3 s2 p1", "N1 C4 9x9 K4 3x3 d2", "N1 C4 9x9 K4 5x5 p2", "N1 C4 9x9 K4 1x1",
                           "N1 C4 9x9 K4 3x1", "N1 C4 9x9 K4 3x3 p1 g2",
                           // valid (1.6e9 input elements) but V would have 6.4e9: past 32-bit indexing
                           "N1 C1 40000x40000 K1 3x3 p1",
                           // valid (1.3e9 weights) but U would have 2.3e9
                           "N1 C12000 4x4 K12000 3x3 p1"}) {
    const conv2d_shape shape = *parse_conv2d_shape(text);
    EXPECT_FALSE(conv2d_kernels::supports(conv2d_kernel::winograd, shape, ctx_->caps())) << text;
    auto session = conv2d_session::create(*ctx_, kernels_, shape, {.kernel = conv2d_kernel::winograd});
    ASSERT_FALSE(session) << text;
    EXPECT_EQ(session.error().kind, gpu::error_kind::validation) << text;
    const std::string& message = session.error().message;
    EXPECT_NE(message.find("kernel winograd cannot run shape '" + shape.to_string() + "'"), std::string::npos)
        << message;
    const bool big = shape.h == 40000 || shape.c == 12000;
    EXPECT_NE(message.find(big ? "past 32-bit indexing" : "winograd needs groups 1, 3x3, stride 1, dilation 1"),
              std::string::npos)
        << message;
  }
  EXPECT_EQ(ctx_->counters().snapshot().live_buffers, live_before);
  EXPECT_TRUE(
      conv2d_kernels::supports(conv2d_kernel::winograd, *parse_conv2d_shape("N1 C4 9x9 K4 3x3 p2x0"), ctx_->caps()));
}

// checks winograd on the shapes that hit its edges: odd P and Q (the last tiles half outside),
// P or Q of 1, padding 0, 1, 2 and unequal, N > 1 (tiles of several images in one GEMM tile),
// C = 1, C and K not multiples of 4, 16 or 64, K < 64 and K > 64, aligned and unaligned rows; in
// one dispatch (every shape but the last two) and in three (C past 64, 2 MiB of input); both
// paths, poisoned outputs
TEST_F(Conv2dWinograd, MatchesTheReferenceOnEdgeShapes) {
  constexpr std::string_view in_three[] = {"N1 C72 10x10 K20 3x3 p1 bias", "N1 C8 256x257 K5 3x3 p1"};
  for (const char* text : {
           "N1 C1 7x9 K5 3x3",              // pad 0, C 1, P x Q 5x7: odd both ways
           "N1 C1 3x3 K1 3x3",              // one output pixel: one tile, three quarters outside
           "N1 C3 1x6 K2 3x3 p1",           // P 1: every tile half outside
           "N3 C5 9x8 K70 3x3 p2 bias",     // pad 2 (P x Q 11x10: even Q, paired stores), N 3, K > 64
           "N2 C19 11x13 K17 3x3 p1",       // C and K past 16, not multiples of 4
           "N1 C33 6x6 K3 3x3 p1 bias",     // C past two 16-element chunks, K 3
           "N2 C6 10x7 K9 3x3 p0x2 bias",   // unequal padding, odd Q
           "N1 C9 20x36 K18 3x3 p1 bias",   // W 36: aligned rows, several tile blocks each way
           "N2 C8 17x40 K16 3x3 p3",        // pad 3: rows start 3 floats before an aligned load
           "N1 C40 64x63 K9 3x3 p1 bias",   // 630 KiB of input, odd W: one float per patch load
           "N1 C72 10x10 K20 3x3 p1 bias",  // C past 64: three dispatches
           "N1 C8 256x257 K5 3x3 p1",       // 2 MiB of input: three dispatches
       }) {
    const conv2d_shape shape = *parse_conv2d_shape(text);
    ASSERT_TRUE(conv2d_kernels::supports(conv2d_kernel::winograd, shape, ctx_->caps())) << text;
    for (const conv2d_path path : {conv2d_path::zero_copy, conv2d_path::staging}) {
      auto session = conv2d_session::create(*ctx_, kernels_, shape, {.path = path, .kernel = conv2d_kernel::winograd});
      ASSERT_TRUE(session) << session.error().message;
      EXPECT_EQ(session->winograd_in_one_dispatch(),
                std::ranges::find(in_three, std::string_view(text)) == std::end(in_three))
          << text;
      const measured m = run_once(*session, rng_);
      EXPECT_TRUE(m.ok()) << m << ": " << shape.to_string() << ", " << to_string(path);
    }
  }
}

// checks the GPU timer around each dispatch: present and plausible (positive, within the
// batch's wall time) with time_kernel, absent without it, on both paths
TEST_F(Conv2dKernelTime, TimesTheDispatchOnlyWhenAsked) {
  const conv2d_shape shape = *parse_conv2d_shape("N1 C8 24x24 K40 3x3 p1");
  for (const conv2d_path path : {conv2d_path::zero_copy, conv2d_path::staging}) {
    for (const bool timed : {false, true}) {
      auto session = conv2d_session::create(*ctx_, kernels_, shape, {.path = path, .time_kernel = timed});
      ASSERT_TRUE(session) << session.error().message;
      EXPECT_FALSE(session->kernel_time()) << "nothing has finished yet";
      test::fill_weights(*session, rng_);
      ASSERT_TRUE(session->commit_weights());
      test::fill_random(session->input(), rng_);
      const auto start = std::chrono::steady_clock::now();
      auto out = session->run();
      const auto wall = std::chrono::steady_clock::now() - start;
      ASSERT_TRUE(out) << out.error().message;
      const auto gpu_time = session->kernel_time();
      ASSERT_EQ(gpu_time.has_value(), timed) << to_string(path);
      if (timed) {
        EXPECT_GT(gpu_time->count(), 0) << to_string(path);
        EXPECT_LE(*gpu_time, wall) << to_string(path);
      }
    }
  }
}

// checks the back-to-back profiling dispatches: refused before a timed run, then one GPU time
// per dispatch, and the output still right afterwards (the kernel rewrote the same values);
// with the automatic pick and with winograd (whose timer spans all of its dispatches)
TEST_F(Conv2dKernelTime, BackToBackDispatchesKeepTheOutput) {
  const conv2d_shape shape = *parse_conv2d_shape("N1 C6 15x13 K36 3x3 p1 bias");
  for (const conv2d_kernel kernel : {conv2d_kernel::automatic, conv2d_kernel::winograd}) {
    SCOPED_TRACE(std::string(to_string(kernel)));
    auto session = conv2d_session::create(*ctx_, kernels_, shape, {.kernel = kernel, .time_kernel = true});
    ASSERT_TRUE(session) << session.error().message;
    EXPECT_FALSE(session->time_dispatches(3)) << "nothing has run yet";
    const measured m = run_once(*session, rng_, [](conv2d_session& ran) {
      auto times = ran.time_dispatches(5);
      ASSERT_TRUE(times) << times.error().message;
      EXPECT_EQ(times->size(), 5u);
    });
    EXPECT_TRUE(m.ok()) << m;
  }
}

}  // namespace
}  // namespace gpusoak::kernels
