// oom: allocate unified_buffers of `step` bytes until out_of_memory under a bounded budget; the
// error must be clean (kind out_of_memory), and after releasing everything live bytes are back at
// baseline and allocation works again (a recovery). Anything else is a failure.
//
// The budget is the worker context's own, lowered for the scenario to what is used plus `budget`
// and restored in teardown, so the OOM is bounded on any device (llvmpipe has no memory query).
#include <fmt/format.h>

#include <chrono>

#include "factories.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"
#include "gpusoak/scenarios/pattern.hpp"
#include "gpusoak/scenarios/units.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "oom";

class oom final : public scenario {
 public:
  oom(std::uint64_t seed, std::uint64_t step_bytes, std::uint64_t budget)
      : scenario(seed), step_(step_bytes), budget_(budget) {}

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context& ctx) override {
    saved_limit_ = ctx.budget().limit();
    ctx.budget().set_limit(ctx.budget().used() + budget_);
    return {};
  }

  step_result step(gpu::context& ctx) override {
    step_result out;
    const std::uint64_t base_live = ctx.counters().snapshot().live_bytes;
    const std::uint64_t base_used = ctx.budget().used();
    std::vector<std::pair<gpu::unified_buffer, std::uint64_t>> held;
    const std::uint64_t max_tries = budget_ / step_ + 4;
    bool hit_oom = false;
    for (std::uint64_t i = 0; i < max_tries; ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto buffer = gpu::unified_buffer::create(ctx, {.size = step_, .use = gpu::usage::bidirectional, .tag = "oom"});
      out.latency.add(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!buffer) {
        if (buffer.error().kind == error_kind::out_of_memory) {
          ++out.oom_events;
          hit_oom = true;
        } else {
          out.fail(fmt::format("allocation {} failed with {} instead of out_of_memory: {}", i,
                               gpu::to_string(buffer.error().kind), buffer.error().message));
        }
        break;
      }
      if (held.empty()) note_strategy(buffer->use(), buffer->strategy());
      const std::uint64_t s = derive_seed(seed(), serial_++);
      fill_pattern(buffer->cpu_view(), s);
      held.emplace_back(std::move(*buffer), s);
      ++out.iterations;
    }
    if (!hit_oom && !out.failed()) {
      out.fail(fmt::format("no out_of_memory after {} buffers of {} under a {} budget", held.size(),
                           format_bytes(step_), format_bytes(budget_)));
    }
    for (const auto& [buffer, s] : held) {
      if (const auto bad = verify_pattern(buffer.cpu_view(), s)) {
        ++out.integrity_failures;
        out.fail(fmt::format("oom buffer of {}: pattern mismatch at {}", format_bytes(step_), bad->describe()));
      }
    }
    if (hold_) {
      for (auto& h : held) kept_.push_back(std::move(h.first));
    }
    held.clear();
    const std::uint64_t live = ctx.counters().snapshot().live_bytes;
    if (live != base_live || ctx.budget().used() != base_used) {
      ++out.leaks;
      out.fail(fmt::format("after release, live bytes {} (baseline {}), budget used {} (baseline {})", live, base_live,
                           ctx.budget().used(), base_used));
    }
    if (hit_oom) {
      auto again = gpu::unified_buffer::create(ctx, {.size = step_, .use = gpu::usage::bidirectional, .tag = "oom"});
      if (again) {
        const std::uint64_t s = derive_seed(seed(), serial_++);
        fill_pattern(again->cpu_view(), s);
        if (const auto bad = verify_pattern(again->cpu_view(), s)) {
          ++out.integrity_failures;
          out.fail("oom recovery buffer: pattern mismatch at " + bad->describe());
        }
        ++out.oom_recoveries;
      } else {
        out.fail(fmt::format("unrecovered OOM: allocating {} after releasing everything failed ({}): {}",
                             format_bytes(step_), gpu::to_string(again.error().kind), again.error().message));
      }
    }
    return out;
  }

  step_result teardown(gpu::context& ctx) override {
    kept_.clear();
    ctx.budget().set_limit(saved_limit_);
    return {};
  }

  bool inject(fault f) override {
    if (f != fault::hold_memory) return false;
    hold_ = true;
    return true;
  }

 private:
  std::uint64_t step_, budget_;
  std::uint64_t saved_limit_ = 0;
  std::uint64_t serial_ = 0;
  bool hold_ = false;
  std::vector<gpu::unified_buffer> kept_;
};

}  // namespace

std::unique_ptr<scenario> make_oom(param_reader& in, std::uint64_t seed) {
  in.allow({"step", "budget"});
  const auto budget = in.bytes("budget", 256ull << 20, 1ull << 20, 64ull << 30);
  const auto step = in.bytes("step", std::min<std::uint64_t>(16ull << 20, budget), 4096, budget);
  return std::make_unique<oom>(seed, step, budget);
}

}  // namespace gpusoak::scenarios::detail
