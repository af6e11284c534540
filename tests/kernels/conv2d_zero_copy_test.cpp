// "Zero copies in the hot path", checked twice: by the buffer layer's copy counters, and
// independently by tracing the GL calls with apitrace.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

#include "conv2d_checks.hpp"
#include "gl_fixture.hpp"
#include "gpusoak/kernels/conv2d.hpp"

namespace gpusoak::kernels {
namespace {

constexpr int hot_iterations = 12;
const conv2d_shape small_shape = *parse_conv2d_shape("N2 C8 16x16 K8 3x3 p1 bias");

// Runs `iterations` begin/write/submit/finish rounds (pipelined when depth > 1) and checks every
// output element is finite; returns the copy counters' change over exactly those rounds.
gpu::counters_snapshot hot_path_delta(gpu::context& ctx, conv2d_session& session, int iterations) {
  std::mt19937_64 rng(test::test_seed());
  const auto consume = [&] {
    auto out = session.finish();
    ASSERT_TRUE(out) << out.error().message;
    for (const float v : *out) ASSERT_TRUE(std::isfinite(v));
  };
  const gpu::counters_snapshot before = ctx.counters().snapshot();
  for (int i = 0; i < iterations; ++i) {
    if (session.in_flight() == session.depth()) consume();
    auto in = session.begin();
    EXPECT_TRUE(in);
    if (!in) break;
    test::fill_random(*in, rng);
    EXPECT_TRUE(session.submit());
  }
  while (session.in_flight() > 0) consume();
  const gpu::counters_snapshot after = ctx.counters().snapshot();
  gpu::counters_snapshot delta;
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    delta.copies[p] = after.copies[p] - before.copies[p];
    delta.copied_bytes[p] = after.copied_bytes[p] - before.copied_bytes[p];
  }
  return delta;
}

gpu::result<conv2d_session> ready_session(gpu::context& ctx, conv2d_path path, std::uint32_t depth) {
  auto kernels = conv2d_kernels::create(ctx);
  if (!kernels) return std::unexpected(kernels.error());
  auto session = conv2d_session::create(ctx, *kernels, small_shape, {.path = path, .pipeline_depth = depth});
  if (!session) return session;
  std::mt19937_64 rng(1);
  test::fill_random(session->weights(), rng);
  test::fill_random(session->bias(), rng);
  if (auto ok = session->commit_weights(); !ok) return std::unexpected(ok.error());
  if (auto ok = session->poison_outputs(); !ok) return std::unexpected(ok.error());
  return session;
}

class CopyCounters : public ::testing::TestWithParam<std::uint32_t> {};

// checks that the zero-copy path makes no counted copy of any kind over N hot-path iterations,
// synchronously (depth 1) and pipelined, and that its input and output are really mapped
TEST_P(CopyCounters, StayAtZeroOnTheZeroCopyPath) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto session = ready_session(*ctx, conv2d_path::zero_copy, GetParam());
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_NE(session->input_strategy(), gpu::strategy::staging_copy);
  EXPECT_NE(session->output_strategy(), gpu::strategy::staging_copy);
  const gpu::counters_snapshot delta = hot_path_delta(*ctx, *session, hot_iterations);
  EXPECT_EQ(delta.total_copies(), 0u);
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    EXPECT_EQ(delta.copies[p], 0u) << gpu::to_string(static_cast<gpu::copy_path>(p));
    EXPECT_EQ(delta.copied_bytes[p], 0u) << gpu::to_string(static_cast<gpu::copy_path>(p));
  }
}

// checks that the same loop on the staging path is counted (one upload and one readback per
// iteration), so a counter that never moves cannot pass the test above by accident
TEST_P(CopyCounters, CountEveryCopyOnTheStagingPath) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto session = ready_session(*ctx, conv2d_path::staging, GetParam());
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_EQ(session->input_strategy(), gpu::strategy::staging_copy);
  const gpu::counters_snapshot delta = hot_path_delta(*ctx, *session, hot_iterations);
  const auto at = [&](gpu::copy_path p) { return delta.copies[static_cast<std::size_t>(p)]; };
  EXPECT_EQ(at(gpu::copy_path::staging_upload), static_cast<std::uint64_t>(hot_iterations));
  EXPECT_EQ(at(gpu::copy_path::readback_copy), static_cast<std::uint64_t>(hot_iterations));
  EXPECT_EQ(delta.copied_bytes[static_cast<std::size_t>(gpu::copy_path::staging_upload)],
            hot_iterations * small_shape.input_elements() * sizeof(float));
}

INSTANTIATE_TEST_SUITE_P(Depth, CopyCounters, ::testing::Values(1u, 3u),
                         [](const auto& info) { return info.param == 1 ? "sync" : "pipelined"; });

// checks that the decision matrix decides where zero-copy runs: unmasked and with coherent maps
// masked it picks a mapped strategy, and a zero-copy session gets it; with buffer storage masked
// (alone or with all three) the reason names the matrix's staging_copy, the usage and the mask,
// the caller is sent to the staging path, and that path runs with its copies counted by path
TEST(ZeroCopyAvailability, FollowsTheDecisionMatrixUnderEachMask) {
  struct masked_case {
    gpu::capability_mask mask;
    bool zero_copy;
  };
  for (const masked_case& c :
       {masked_case{{}, true}, masked_case{{.coherent = true}, true}, masked_case{{.buffer_storage = true}, false},
        masked_case{{.buffer_storage = true, .coherent = true, .pinned = true}, false}}) {
    auto ctx = test::make_context({.mask = c.mask});
    ASSERT_TRUE(ctx);
    SCOPED_TRACE("masked: " + ctx->caps().masked);
    const auto why = zero_copy_unavailable(ctx->caps());
    EXPECT_EQ(!why.has_value(), c.zero_copy) << why.value_or("");
    const conv2d_path path = available_path(ctx->caps(), conv2d_path::zero_copy);
    EXPECT_EQ(path, c.zero_copy ? conv2d_path::zero_copy : conv2d_path::staging);
    EXPECT_EQ(available_path(ctx->caps(), conv2d_path::staging), conv2d_path::staging);
    auto session = ready_session(*ctx, path, 1);
    ASSERT_TRUE(session) << session.error().message;
    const gpu::counters_snapshot delta = hot_path_delta(*ctx, *session, 2);
    const auto at = [&](gpu::copy_path p) { return delta.copies[static_cast<std::size_t>(p)]; };
    if (c.zero_copy) {
      EXPECT_TRUE(gpu::is_mapped(session->input_strategy())) << gpu::to_string(session->input_strategy());
      EXPECT_TRUE(gpu::is_mapped(session->output_strategy())) << gpu::to_string(session->output_strategy());
      EXPECT_EQ(delta.total_copies(), 0u);
      continue;
    }
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("staging_copy for stream_to_gpu"), std::string::npos) << *why;
    EXPECT_NE(why->find("masked: " + ctx->caps().masked), std::string::npos) << *why;
    EXPECT_EQ(session->input_strategy(), gpu::strategy::staging_copy);
    EXPECT_EQ(at(gpu::copy_path::staging_upload), 2u);
    EXPECT_EQ(at(gpu::copy_path::readback_copy), 2u);
  }
}

// checks that write_input copies the batch in (one cpu_memcpy of the input's bytes, counted even
// into a mapping) and that the kernel then sees exactly those values, as when written in place
TEST(ZeroCopyAvailability, WriteInputIsACountedCopyOfTheSameBatch) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto session = ready_session(*ctx, conv2d_path::zero_copy, 1);
  ASSERT_TRUE(session) << session.error().message;
  std::mt19937_64 rng(test::test_seed());
  std::vector<float> input(small_shape.input_elements());
  test::fill_random(input, rng);
  std::ranges::copy(input, session->input().begin());
  auto in_place = session->run();
  ASSERT_TRUE(in_place) << in_place.error().message;
  const std::vector<float> expected(in_place->begin(), in_place->end());
  const gpu::counters_snapshot before = ctx->counters().snapshot();
  ASSERT_TRUE(session->write_input(input));
  auto copied = session->run();
  ASSERT_TRUE(copied) << copied.error().message;
  const gpu::counters_snapshot after = ctx->counters().snapshot();
  const auto memcpy_index = static_cast<std::size_t>(gpu::copy_path::cpu_memcpy);
  EXPECT_EQ(after.copies[memcpy_index] - before.copies[memcpy_index], 1u);
  EXPECT_EQ(after.copied_bytes[memcpy_index] - before.copied_bytes[memcpy_index], input.size() * sizeof(float));
  EXPECT_EQ(after.total_copies() - before.total_copies(), 1u);
  EXPECT_TRUE(std::ranges::equal(*copied, expected));
  EXPECT_FALSE(session->write_input(std::span(input).first(input.size() - 1)));  // a short batch is refused
}

// One kernel on the bus path, and whether it runs between bus copies there.
struct bus_case {
  const char* name;
  conv2d_kernel kernel;
  const char* shape;
  bool copies;
  friend void PrintTo(const bus_case& c, std::ostream* os) { *os << c.name; }
};

class OverABus : public ::testing::TestWithParam<bus_case> {};

// checks each kernel on the bus path (forced: llvmpipe is UMA): the session holds exactly one
// more input's and output's worth of device scratch when the kernel runs between bus copies
// (conv2d_session::copies_over_bus) and none when it does not, every output of a pipelined run
// matches the reference, and the copy counters stay at zero (the bus copies are a shader reading
// and writing host memory, not API copies)
TEST_P(OverABus, EveryOutputMatchesAndNoCopyIsCounted) {
  const bus_case& c = GetParam();
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto kernels = conv2d_kernels::create(*ctx);
  ASSERT_TRUE(kernels) << kernels.error().message;
  const conv2d_shape shape = *parse_conv2d_shape(c.shape);
  const std::uint64_t before = ctx->budget().used();
  auto on_device = conv2d_session::create(
      *ctx, *kernels, shape, {.path = conv2d_path::zero_copy, .kernel = c.kernel, .input_over_bus = false});
  ASSERT_TRUE(on_device) << on_device.error().message;
  const std::uint64_t on_device_bytes = ctx->budget().used() - before;
  auto session = conv2d_session::create(
      *ctx, *kernels, shape,
      {.path = conv2d_path::zero_copy, .pipeline_depth = 2, .kernel = c.kernel, .input_over_bus = true});
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_FALSE(on_device->copies_over_bus());
  EXPECT_EQ(session->copies_over_bus(), c.copies);
  // The second session has one more slot (an input and an output), and with the copies both
  // again in device memory.
  const std::uint64_t over_bus_bytes = ctx->budget().used() - before - on_device_bytes;
  const std::uint64_t one_slot = (shape.input_elements() + shape.output_elements()) * sizeof(float);
  EXPECT_EQ(over_bus_bytes - on_device_bytes, (c.copies ? 2 : 1) * one_slot);

  std::mt19937_64 rng(test::test_seed());
  const test::conv2d_data data = test::fill_weights(*session, rng);
  ASSERT_TRUE(session->commit_weights());
  ASSERT_TRUE(session->poison_outputs());
  const gpu::counters_snapshot counted = ctx->counters().snapshot();
  std::vector<std::vector<float>> inputs;
  const auto check_oldest = [&] {
    auto out = session->finish();
    ASSERT_TRUE(out) << out.error().message;
    if (c.kernel == conv2d_kernel::winograd) {
      EXPECT_LE(test::conditioned_error(shape, inputs.front(), data, *out), test::winograd_tolerance);
    } else {
      EXPECT_LE(test::error_vs_reference(shape, inputs.front(), data, *out), test::tolerance);
    }
    inputs.erase(inputs.begin());
  };
  for (int i = 0; i < 5; ++i) {
    if (session->in_flight() == session->depth()) check_oldest();
    auto in = session->begin();
    ASSERT_TRUE(in) << in.error().message;
    inputs.emplace_back(in->size());
    test::fill_random(inputs.back(), rng);
    std::ranges::copy(inputs.back(), in->begin());
    ASSERT_TRUE(session->submit());
  }
  while (session->in_flight() > 0) check_oldest();
  EXPECT_EQ(ctx->counters().snapshot().total_copies(), counted.total_copies());
}

// Odd sizes everywhere: copies of a float count that is not a multiple of four (the tail).
INSTANTIATE_TEST_SUITE_P(
    Kernels, OverABus,
    ::testing::Values(bus_case{"winograd_2MiB", conv2d_kernel::winograd, "N1 C34 125x127 K9 3x3 p1 bias", true},
                      bus_case{"winograd_small", conv2d_kernel::winograd, "N2 C17 13x11 K9 3x3 p1 bias", false},
                      bus_case{"gemm", conv2d_kernel::gemm, "N2 C17 13x11 K9 3x3 s2 p1 bias", true},
                      bus_case{"gemm_wide", conv2d_kernel::gemm_wide, "N1 C5 9x7 K70 1x1 bias", true},
                      bus_case{"direct", conv2d_kernel::direct, "N1 C8 9x9 K8 3x3 g4 p1", true},
                      bus_case{"tiled_64KiB", conv2d_kernel::tiled, "N1 C16 32x32 K5 3x3 p1", true},
                      bus_case{"tiled_small", conv2d_kernel::tiled, "N1 C3 11x13 K5 3x3 p1", false}),
    [](const auto& info) { return std::string(info.param.name); });

// --- apitrace -------------------------------------------------------------------------------

// What a trace's hot path (the calls inside the helper's "gpusoak.hot_path" debug group) did.
struct traced {
  bool found_group = false;
  std::map<std::string, int> calls;  // GL function name -> count
  std::string error;                 // why the trace could not be taken or read
};

std::string run_command(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    status = -1;
    return "popen failed";
  }
  std::array<char, 4096> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
  status = pclose(pipe);
  return output;
}

traced trace_hot_path(const std::string& path, const std::string& mode) {
  traced result;
  const std::string apitrace = GPUSOAK_APITRACE;
  if (apitrace.empty()) {
    result.error = "apitrace was not found at configure time (Debian package 'apitrace')";
    return result;
  }
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("gpusoak_conv2d_trace_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / (path + "_" + mode + ".trace");
  std::filesystem::remove(file);
  int status = 0;
  // --api=egl preloads apitrace's egltrace.so wrapper; the helper loads EGL/GL through glad.
  const std::string trace_output =
      run_command(apitrace + " trace --api=egl -o " + file.string() + " " + GPUSOAK_TRACE_HELPER + " " + path + " " +
                      mode + " " + std::to_string(hot_iterations),
                  status);
  if (status != 0 || !std::filesystem::exists(file)) {
    result.error = "apitrace trace failed (status " + std::to_string(status) + "): " + trace_output;
    return result;
  }
  const std::string dump = run_command(apitrace + " dump --color=never " + file.string(), status);
  if (status != 0) {
    result.error = "apitrace dump failed: " + dump.substr(0, 2000);
    return result;
  }
  // "1234 glDispatchCompute(num_groups_x = 1, ...)" -> glDispatchCompute. apitrace also records
  // the bytes it saw change in persistent maps as "memcpy(...) // fake" lines: its own snapshots,
  // not calls of ours, and not GL buffer copies.
  const std::regex call(R"(^\d+ (\w+)\()");
  bool inside = false;
  std::size_t start = 0;
  while (start < dump.size()) {
    std::size_t end = dump.find('\n', start);
    if (end == std::string::npos) end = dump.size();
    const std::string line = dump.substr(start, end - start);
    start = end + 1;
    std::smatch m;
    if (!std::regex_search(line, m, call)) continue;
    const std::string name = m[1];
    if (!inside) {
      if (name == "glPushDebugGroup" && line.find("gpusoak.hot_path") != std::string::npos) {
        inside = true;
        result.found_group = true;
      }
      continue;
    }
    if (name == "glPopDebugGroup") break;
    ++result.calls[name];
  }
  std::filesystem::remove_all(dir);
  return result;
}

constexpr std::array forbidden_calls = {"glBufferSubData",          "glNamedBufferSubData", "glCopyBufferSubData",
                                        "glCopyNamedBufferSubData", "glGetBufferSubData",   "glGetNamedBufferSubData"};

std::string summary(const traced& t) {
  std::string text;
  for (const auto& [name, count] : t.calls) text += name + " x" + std::to_string(count) + ", ";
  return text;
}

class Apitrace : public ::testing::TestWithParam<const char*> {};

// checks, from apitrace's record of the real GL calls, that the zero-copy hot path issues none
// of the six buffer copy calls while it does dispatch every iteration
TEST_P(Apitrace, ZeroCopyHotPathIssuesNoBufferCopies) {
  const traced t = trace_hot_path("zero-copy", GetParam());
  ASSERT_TRUE(t.error.empty()) << t.error;
  ASSERT_TRUE(t.found_group) << "no glPushDebugGroup(\"gpusoak.hot_path\") in the trace";
  EXPECT_EQ(t.calls.count("glDispatchCompute") ? t.calls.at("glDispatchCompute") : 0, hot_iterations) << summary(t);
  for (const char* name : forbidden_calls) {
    EXPECT_EQ(t.calls.count(name), 0u) << name << " in the zero-copy hot path: " << summary(t);
  }
  for (const auto& [name, count] : t.calls) {  // EXT/ARB spellings of the same calls
    EXPECT_EQ(name.find("BufferSubData"), std::string::npos) << name << ": " << summary(t);
  }
}

// checks that the same trace of the staging path does show the copies, so the test above can
// fail (the wrapper really records buffer calls, and the cut is in the right place)
TEST_P(Apitrace, StagingHotPathShowsItsCopies) {
  const traced t = trace_hot_path("staging", GetParam());
  ASSERT_TRUE(t.error.empty()) << t.error;
  ASSERT_TRUE(t.found_group);
  EXPECT_EQ(t.calls.count("glDispatchCompute") ? t.calls.at("glDispatchCompute") : 0, hot_iterations);
  EXPECT_GE(t.calls.count("glNamedBufferSubData") ? t.calls.at("glNamedBufferSubData") : 0, hot_iterations)
      << summary(t);
  EXPECT_GE(t.calls.count("glGetNamedBufferSubData") ? t.calls.at("glGetNamedBufferSubData") : 0, hot_iterations)
      << summary(t);
}

INSTANTIATE_TEST_SUITE_P(Mode, Apitrace, ::testing::Values("sync", "pipelined"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace gpusoak::kernels
