// leak_cycle: create and destroy buffers (and whole contexts) every step; live counts return to
// baseline and no context reports a leaked buffer. Contexts are made on a short-lived thread of
// their own: creating one makes it current on its thread, which would unseat the worker's. They
// are siblings of the worker's context (same device, backend and mask).
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include "factories.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"
#include "gpusoak/scenarios/pattern.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "leak_cycle";

class leak_cycle final : public scenario {
 public:
  leak_cycle(std::uint64_t seed, std::uint64_t buffers, std::uint64_t contexts)
      : scenario(seed), buffers_(buffers), contexts_(contexts), rng_(seed) {}

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context&) override { return {}; }

  step_result step(gpu::context& ctx) override {
    step_result out;
    const std::uint64_t base_count = ctx.live_buffer_count();
    const std::uint64_t base_bytes = ctx.counters().snapshot().live_bytes;
    if (const auto placed = churn(ctx, out, hold_ ? &kept_ : nullptr)) {
      note_strategy(gpu::usage::bidirectional, *placed);
    }
    const std::uint64_t count = ctx.live_buffer_count();
    const std::uint64_t bytes = ctx.counters().snapshot().live_bytes;
    if (count != base_count || bytes != base_bytes) {
      out.leaks += count > base_count ? count - base_count : 0;
      out.fail(fmt::format("after a cycle of {} buffers, {} live buffers / {} bytes (baseline {} / {})", buffers_,
                           count, bytes, base_count, base_bytes));
    }
    if (contexts_ > 0) cycle_contexts(ctx.sibling_options(std::string(scenario_name)), out);
    ++out.iterations;
    return out;
  }

  step_result teardown(gpu::context&) override {
    kept_.clear();
    return {};
  }

  bool inject(fault f) override {
    if (f != fault::hold_memory) return false;
    hold_ = true;
    return true;
  }

 private:
  // Creates, pattern-fills, verifies and destroys buffers_ buffers on ctx; with `keep`, one of them
  // survives into *keep (a planted leak). Returns the strategy the first one got (none when none
  // could be made).
  std::optional<gpu::strategy> churn(gpu::context& ctx, step_result& out, std::vector<gpu::unified_buffer>* keep) {
    std::uniform_int_distribution<std::uint64_t> size(4096, 256 << 10);
    std::vector<std::pair<gpu::unified_buffer, std::uint64_t>> made;
    for (std::uint64_t i = 0; i < buffers_; ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto b =
          gpu::unified_buffer::create(ctx, {.size = size(rng_), .use = gpu::usage::bidirectional, .tag = "leak_cycle"});
      out.latency.add(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!b) {
        if (b.error().kind == error_kind::out_of_memory) ++out.oom_events;
        out.fail(fmt::format("leak_cycle buffer {} on {}: {}", i, ctx.name(), b.error().message));
        continue;
      }
      const std::uint64_t s = derive_seed(seed(), serial_++);
      fill_pattern(b->cpu_view(), s);
      made.emplace_back(std::move(*b), s);
    }
    for (const auto& [b, s] : made) {
      if (const auto bad = verify_pattern(b.cpu_view(), s)) {
        ++out.integrity_failures;
        out.fail(fmt::format("leak_cycle buffer on {}: pattern mismatch at {}", ctx.name(), bad->describe()));
      }
    }
    const auto placed = made.empty() ? std::nullopt : std::optional(made.front().first.strategy());
    if (keep != nullptr && !made.empty()) keep->push_back(std::move(made.front().first));
    return placed;
  }

  void cycle_contexts(const gpu::context_options& sibling, step_result& out) {
    std::vector<gpu::strategy> placed;  // by the churn on the cycled contexts, noted after the join
    std::thread worker([&] {
      for (std::uint64_t i = 0; i < contexts_; ++i) {
        std::atomic<std::uint64_t> leaked{0};
        std::vector<gpu::unified_buffer> survivors;  // outlives the context when a leak is planted
        gpu::context_options options = sibling;
        options.name = fmt::format("leak_cycle{}", cycles_);
        options.on_leak = [&leaked](const gpu::leak_record&) { ++leaked; };
        auto ctx = gpu::context::create(options);
        ++cycles_;
        if (!ctx) {
          out.fail("leak_cycle: creating a context failed: " + ctx.error().message);
          return;
        }
        if (const auto p = churn(**ctx, out, hold_ ? &survivors : nullptr)) placed.push_back(*p);
        ctx->reset();
        if (leaked > 0) {
          out.leaks += leaked;
          out.fail(fmt::format("context leak_cycle{} reported {} leaked buffers at destruction", cycles_ - 1,
                               leaked.load()));
        }
      }
    });
    worker.join();
    for (const gpu::strategy p : placed) note_strategy(gpu::usage::bidirectional, p);
  }

  std::uint64_t buffers_, contexts_;
  std::mt19937_64 rng_;
  std::uint64_t serial_ = 0;
  std::uint64_t cycles_ = 0;
  bool hold_ = false;
  std::vector<gpu::unified_buffer> kept_;
};

}  // namespace

std::unique_ptr<scenario> make_leak_cycle(param_reader& in, std::uint64_t seed) {
  in.allow({"buffers_per_cycle", "contexts_per_cycle"});
  const auto buffers = in.count("buffers_per_cycle", 16, 1, 4096);
  const auto contexts = in.count("contexts_per_cycle", 1, 0, 16);
  return std::make_unique<leak_cycle>(seed, buffers, contexts);
}

}  // namespace gpusoak::scenarios::detail
