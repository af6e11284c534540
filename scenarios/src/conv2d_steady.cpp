// conv2d_steady: zero-copy conv2d across shapes; every batch checked against the reference (small
// shapes) with NaN-poisoned outputs; hot-path copies must stay 0; latency per batch. A fence wait
// past fence_timeout means the GPU stopped answering (context_lost): the runner's watchdog.
//
// Params:
//   shapes         conv2d shapes ("N1 C3 32x32 K16 3x3 p1"), run round robin
//   path           zero-copy (default): zero-copy where the decision matrix allows it on this
//                  context (its probe and mask), else the matrix's fallback, the staging path
//                  (staging_copy input and output), so a plan runs unchanged under every
//                  --disable mask; the run's events name the strategy it got. staging: always
//                  the staging path. The staging path's uploads and readbacks are expected and
//                  counted by copy path, never as hot-path copies.
//   allow_copies   false (default): a hot-path copy on a zero-copy strategy fails the step
//   fence_timeout  a fence wait past it is context_lost (default 60s)
#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "conv2d_work.hpp"
#include "factories.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "conv2d_steady";

class conv2d_steady final : public scenario {
 public:
  conv2d_steady(std::uint64_t seed, std::vector<kernels::conv2d_shape> shapes, kernels::conv2d_path path,
                bool allow_copies, std::chrono::microseconds fence_timeout)
      : scenario(seed),
        shapes_(std::move(shapes)),
        path_(path),
        allow_copies_(allow_copies),
        fence_timeout_(fence_timeout) {}

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context& ctx) override {
    GPUSOAK_TRY_ASSIGN(auto work, conv2d_work::create(ctx, shapes_, path_, seed(), "conv2d_steady", fence_timeout_));
    work_.emplace(std::move(work));
    for (const strategy_use& u : work_->strategies()) note_strategy(u.use, u.strategy);
    if (copy_inputs_) work_->copy_inputs();  // a rebuilt context keeps the planted fault
    return {};
  }

  step_result step(gpu::context& ctx) override {
    step_result out;
    if (stall_) {
      stall_ = false;
      out.context_lost = true;
      out.fail(fmt::format("conv2d: fence wait timed out after {} us (injected GPU stall)", fence_timeout_.count()));
      return out;
    }
    // A few batches, one per shape at most: a step stays in the milliseconds on real GPUs.
    for (std::size_t i = 0; i < shapes_.size() && i < 4; ++i) work_->run_one(ctx, out);
    if (out.hot_path_copies > 0 && !allow_copies_) {
      out.fail(fmt::format("{} hot-path copies on the {} path (expected 0)", out.hot_path_copies,
                           kernels::to_string(work_->path())));
    }
    return out;
  }

  bool inject(fault f) override {
    if (f == fault::gpu_stall) {
      stall_ = true;
      return true;
    }
    if (f == fault::hot_copy) {
      copy_inputs_ = true;
      if (work_) work_->copy_inputs();
      return true;
    }
    return false;
  }

  step_result teardown(gpu::context&) override {
    work_.reset();
    return {};
  }

 private:
  std::vector<kernels::conv2d_shape> shapes_;
  kernels::conv2d_path path_;
  bool allow_copies_;
  std::chrono::microseconds fence_timeout_;
  bool stall_ = false;
  bool copy_inputs_ = false;
  std::optional<conv2d_work> work_;
};

}  // namespace

std::unique_ptr<scenario> make_conv2d_steady(param_reader& in, std::uint64_t seed) {
  in.allow({"shapes", "path", "allow_copies", "fence_timeout"});
  auto shapes = read_shapes(in, "shapes", {"N1 C3 16x16 K8 3x3 p1", "N2 C8 8x8 K8 1x1 bias"});
  const auto path = in.choice("path", "zero-copy", {"zero-copy", "staging"});
  const auto allow = in.choice("allow_copies", "false", {"true", "false"});
  // A software rasterizer takes seconds on a large batch; a real GPU answers in milliseconds.
  const auto fence_timeout =
      in.duration("fence_timeout", std::chrono::seconds(60), std::chrono::milliseconds(1), std::chrono::hours(1));
  const auto parsed_path = kernels::parse_conv2d_path(path).value_or(kernels::conv2d_path::zero_copy);
  return std::make_unique<conv2d_steady>(seed, std::move(shapes), parsed_path, allow == "true", fence_timeout);
}

}  // namespace gpusoak::scenarios::detail
