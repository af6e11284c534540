// memory_pressure: hold hold_percent of the context's budget in pattern-carrying buffers while
// conv2d keeps running; each step verifies one held buffer and runs a checked batch whose latency
// must stay under latency_bound. Both follow the decision matrix under the context's mask: conv2d
// zero-copy where available, else the staging path (conv2d_work), the held buffers its
// bidirectional choice.
#include <fmt/format.h>

#include <optional>

#include "conv2d_work.hpp"
#include "factories.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"
#include "gpusoak/scenarios/pattern.hpp"
#include "gpusoak/scenarios/units.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "memory_pressure";

class memory_pressure final : public scenario {
 public:
  memory_pressure(std::uint64_t seed, std::uint64_t percent, std::uint64_t block,
                  std::vector<kernels::conv2d_shape> shapes, std::chrono::microseconds bound)
      : scenario(seed), percent_(percent), block_(block), shapes_(std::move(shapes)), bound_(bound) {}

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context& ctx) override {
    GPUSOAK_TRY_ASSIGN(auto work,
                       conv2d_work::create(ctx, shapes_, kernels::conv2d_path::zero_copy, seed(), "memory_pressure"));
    work_.emplace(std::move(work));
    for (const strategy_use& u : work_->strategies()) note_strategy(u.use, u.strategy);
    const std::uint64_t target = ctx.budget().limit() / 100 * percent_;
    std::uint64_t held = 0;
    while (held < target) {
      const std::uint64_t size = std::min(block_, target - held);
      auto b =
          gpu::unified_buffer::create(ctx, {.size = size, .use = gpu::usage::bidirectional, .tag = "memory_pressure"});
      if (!b) {
        return make_error(b.error().kind,
                          fmt::format("memory_pressure: holding {} of {} failed at {}: {}", format_bytes(target),
                                      format_bytes(ctx.budget().limit()), format_bytes(held), b.error().message));
      }
      note_strategy(b->use(), b->strategy());
      const std::uint64_t s = derive_seed(seed(), held_.size());
      fill_pattern(b->cpu_view(), s);
      held_.emplace_back(std::move(*b), s);
      held += size;
    }
    return {};
  }

  step_result step(gpu::context& ctx) override {
    step_result out;
    if (!held_.empty()) {
      const auto& [b, s] = held_[next_];
      next_ = (next_ + 1) % held_.size();
      if (const auto bad = verify_pattern(b.cpu_view(), s)) {
        ++out.integrity_failures;
        out.fail(fmt::format("held buffer of {}: pattern mismatch at {}", format_bytes(b.size()), bad->describe()));
      }
    }
    work_->run_one(ctx, out);
    const double bound = std::chrono::duration<double>(bound_).count();
    if (out.latency.max_seconds > bound) {
      out.fail(
          fmt::format("conv2d latency {:.6f}s over the bound {}", out.latency.max_seconds, format_duration(bound_)));
    }
    return out;
  }

  step_result teardown(gpu::context&) override {
    step_result out;
    for (const auto& [b, s] : held_) {
      if (const auto bad = verify_pattern(b.cpu_view(), s)) {
        ++out.integrity_failures;
        out.fail("held buffer at teardown: pattern mismatch at " + bad->describe());
      }
    }
    held_.clear();
    work_.reset();
    return out;
  }

  bool inject(fault f) override {
    if (f != fault::corrupt_pattern || held_.empty()) return false;
    for (auto& [b, s] : held_) b.cpu_view()[b.size() / 3] ^= std::byte{0x11};
    return true;
  }

 private:
  std::uint64_t percent_, block_;
  std::vector<kernels::conv2d_shape> shapes_;
  std::chrono::microseconds bound_;
  std::optional<conv2d_work> work_;
  std::vector<std::pair<gpu::unified_buffer, std::uint64_t>> held_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<scenario> make_memory_pressure(param_reader& in, std::uint64_t seed) {
  in.allow({"hold_percent", "hold_block", "shapes", "latency_bound"});
  // At most 95%: the conv2d batches it runs meanwhile need room of their own.
  const auto percent = in.count("hold_percent", 50, 1, 95);
  const auto block = in.bytes("hold_block", 4ull << 20, 4096, 1ull << 30);
  auto shapes = read_shapes(in, "shapes", {"N1 C8 16x16 K8 3x3 p1"});
  const auto bound =
      in.duration("latency_bound", std::chrono::seconds(5), std::chrono::milliseconds(1), std::chrono::hours(1));
  return std::make_unique<memory_pressure>(seed, percent, block, std::move(shapes), bound);
}

}  // namespace gpusoak::scenarios::detail
