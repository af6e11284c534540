// Contexts: device enumeration, several threads at once, sharing, leaks, thread affinity.
#include "gpusoak/buffers/context.hpp"

#include <glad/gl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "gl_fixture.hpp"
#include "gpu_checks.hpp"
#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::gpu {
namespace {

// checks that EGL devices enumerate (Mesa's software device at least) and each index opens
TEST(Context, ListsAndOpensDevices) {
  auto devices = list_devices();
  ASSERT_TRUE(devices) << devices.error().message;
  ASSERT_FALSE(devices->empty());
  for (const auto& device : *devices) {
    SCOPED_TRACE("device " + std::to_string(device.index) + " " + device.extensions);
    auto ctx = test::make_context({.device_index = device.index, .name = "dev" + std::to_string(device.index)});
    ASSERT_TRUE(ctx);
    EXPECT_EQ(ctx->which(), backend::egl_device);
  }
}

// checks that a device index past the list is a validation error naming the range
TEST(Context, RejectsBadDeviceIndex) {
  auto made = context::create({.device_index = 99});
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().kind, error_kind::validation);
  EXPECT_NE(made.error().message.find("device index 99 out of range"), std::string::npos);
}

// checks the surfaceless fallback backend gives a working 4.5 context
TEST(Context, SurfacelessBackend) {
  auto ctx = test::make_context({.which = backend::egl_surfaceless});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->which(), backend::egl_surfaceless);
  EXPECT_GE(ctx->caps().limit.gl_major * 10 + ctx->caps().limit.gl_minor, 45);
}

// checks several contexts on several threads at once, each with its own data, no cross-talk
TEST(Context, ManyThreadsAtOnce) {
  constexpr int threads = 4;
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto made = context::create({.name = "worker" + std::to_string(t)});
      if (!made) {
        ++failures;
        return;
      }
      auto& ctx = **made;
      test::gpu_checks checks(ctx);
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();  // overlap for real
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      for (int round = 0; round < 20; ++round) {
        auto buffer = unified_buffer::create(
            ctx, {.size = 4096u + static_cast<std::uint64_t>(t) * 13u, .use = usage::stream_to_gpu, .tag = "mt"});
        if (!buffer) {
          ++failures;
          return;
        }
        for (auto& b : buffer->cpu_view()) b = static_cast<std::byte>(rng());
        if (!buffer->make_visible_to_gpu() ||
            checks.checksum(buffer->gl_name(), 0, buffer->size()) != test::cpu_checksum(buffer->cpu_view())) {
          ++failures;
        }
      }
      if (ctx.counters().snapshot().live_buffers != 0) ++failures;
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
}

// checks that a context sharing with a parent sees the parent's buffer contents
TEST(Context, SharesObjectsWithParent) {
  auto parent = test::make_context({.name = "parent"});
  ASSERT_TRUE(parent);
  auto buffer = unified_buffer::create(*parent, {.size = 1024, .use = usage::gpu_reads_many, .tag = "shared"});
  ASSERT_TRUE(buffer);
  for (std::size_t i = 0; i < 1024; ++i) buffer->cpu_view()[i] = std::byte(static_cast<unsigned char>(i ^ 0x5a));
  ASSERT_TRUE(buffer->make_visible_to_gpu());
  glFinish();  // the child reads on another thread: the parent's commands must be done
  const auto expected = test::cpu_checksum(buffer->cpu_view());
  const unsigned name = buffer->gl_name();
  std::uint32_t seen = 0;
  bool is_buffer = false;
  std::thread child([&] {
    auto made = context::create({.share_with = parent.get(), .name = "child"});
    ASSERT_TRUE(made) << made.error().message;
    test::gpu_checks checks(**made);
    is_buffer = glIsBuffer(name) == GL_TRUE;
    seen = checks.checksum(name, 0, 1024);
  });
  child.join();
  EXPECT_TRUE(is_buffer);
  EXPECT_EQ(seen, expected);
}

// checks that a context made on another thread from sibling_options gets the first one's mask,
// budget override and backend, its own name, and no leak callback or sharing; unmasked stays unmasked
TEST(Context, SiblingsInheritMaskBudgetAndBackend) {
  bool parent_leak_called = false;
  auto parent = test::make_context({.which = backend::egl_surfaceless,
                                    .budget_bytes = 48ull << 20,
                                    .mask = {.buffer_storage = true, .pinned = true},
                                    .name = "parent",
                                    .on_leak = [&](const leak_record&) { parent_leak_called = true; }});
  ASSERT_TRUE(parent);
  EXPECT_TRUE(parent->mask().buffer_storage);
  const context_options options = parent->sibling_options("sibling");
  EXPECT_EQ(options.name, "sibling");
  EXPECT_EQ(options.share_with, nullptr);
  EXPECT_FALSE(options.on_leak);
  std::string masked, name;
  backend which = backend::egl_device;
  std::uint64_t limit = 0;
  strategy placed = strategy::persistent_coherent;
  std::thread sibling([&] {
    auto made = context::create(options);
    ASSERT_TRUE(made) << made.error().message;
    masked = (*made)->caps().masked;
    name = (*made)->name();
    which = (*made)->which();
    limit = (*made)->budget().limit();
    placed = choose_strategy((*made)->caps(), usage::stream_to_gpu);
    auto leaked = unified_buffer::create(**made, {.size = 64, .tag = "left"});  // a leak the parent must not hear of
    ASSERT_TRUE(leaked);
    made->reset();
  });
  sibling.join();
  EXPECT_EQ(masked, "buffer_storage,pinned");
  EXPECT_EQ(name, "sibling");
  EXPECT_EQ(which, backend::egl_surfaceless);
  EXPECT_EQ(limit, 48ull << 20);
  EXPECT_EQ(placed, strategy::staging_copy);
  EXPECT_FALSE(parent_leak_called);

  auto plain = test::make_context({.name = "plain"});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->sibling_options("x").mask.any());
}

// checks that destroying a context with live buffers reports each one with its tag and the
// buffers stay safe to destroy afterwards
TEST(Context, ReportsLeaksWithTags) {
  std::vector<leak_record> leaks;
  auto ctx = test::make_context({.name = "leaky", .on_leak = [&](const leak_record& r) { leaks.push_back(r); }});
  ASSERT_TRUE(ctx);
  auto kept = unified_buffer::create(*ctx, {.size = 100, .tag = "weights"});
  auto also = unified_buffer::create(*ctx, {.size = 300, .use = usage::gpu_to_cpu, .tag = "results"});
  {
    auto freed = unified_buffer::create(*ctx, {.size = 50, .tag = "freed"});
    ASSERT_TRUE(freed);
  }
  ASSERT_TRUE(kept && also);
  EXPECT_EQ(ctx->live_buffer_count(), 2u);
  auto core = ctx->core();  // keeps the counters alive past the context
  const counters& stats = ctx->counters();
  ctx.reset();
  ASSERT_EQ(leaks.size(), 2u);
  std::set<std::string> tags{leaks[0].tag, leaks[1].tag};
  EXPECT_EQ(tags, (std::set<std::string>{"weights", "results"}));
  EXPECT_EQ(leaks[0].bytes + leaks[1].bytes, 400u);
  EXPECT_EQ(stats.snapshot().leaked_buffers, 2u);
  kept = unified_buffer{};  // after the context: no GL call, no crash
  also = unified_buffer{};
}

// checks that using a context from a thread that does not own it aborts with a message
TEST(ContextDeathTest, AbortsOnWrongThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto ctx = context::create({});
        if (!ctx) std::abort();
        std::thread other([&] { auto b = unified_buffer::create(**ctx, {.size = 16}); });
        other.join();
      },
      "used from a thread that does not own it");
}

}  // namespace
}  // namespace gpusoak::gpu
