// multi_context: N threads, each with its own context, run checked conv2d batches and buffer
// churn at once; each verifies its own patterns and results, so cross-talk between contexts shows
// up as an integrity failure. step() collects what the threads observed since the last step.
// The threads' contexts are siblings of the one the scenario is set up on (same device, backend
// and mask), so they run on the strategies the run's mask leaves, as every other scenario does.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "conv2d_work.hpp"
#include "factories.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"
#include "gpusoak/scenarios/pattern.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "multi_context";

class multi_context final : public scenario {
 public:
  multi_context(std::uint64_t seed, std::uint64_t contexts, std::vector<kernels::conv2d_shape> shapes)
      : scenario(seed), contexts_(contexts), shapes_(std::move(shapes)) {}

  ~multi_context() override { stop(); }

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context& ctx) override {
    stop_ = false;
    sibling_ = ctx.sibling_options(std::string(scenario_name));
    std::vector<std::future<placements>> ready;
    for (std::uint64_t i = 0; i < contexts_; ++i) {
      auto promise = std::make_shared<std::promise<placements>>();
      ready.push_back(promise->get_future());
      threads_.emplace_back([this, i, promise] { worker(i, *promise); });
    }
    for (auto& r : ready) {
      auto ok = r.get();
      if (!ok) {
        stop();
        return std::unexpected(ok.error());
      }
      for (const strategy_use& u : *ok) note_strategy(u.use, u.strategy);
    }
    return {};
  }

  step_result step(gpu::context&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return collect();
  }

  step_result teardown(gpu::context&) override {
    stop();
    return collect();
  }

 private:
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  step_result collect() {
    const std::scoped_lock lock(mutex_);
    return std::exchange(pending_, {});
  }

  void publish(step_result& local) {
    const std::scoped_lock lock(mutex_);
    pending_.merge(local);
    local = {};
  }

  // What a worker's context placed its buffers on, once it is ready, or why it could not start.
  using placements = result<std::vector<strategy_use>>;

  void worker(std::uint64_t index, std::promise<placements>& ready) {
    std::atomic<std::uint64_t> leaked{0};
    const std::uint64_t my_seed = derive_seed(seed(), index);
    step_result local;
    {
      gpu::context_options options = sibling_;
      options.name = fmt::format("multi_context{}", index);
      options.on_leak = [&leaked](const gpu::leak_record&) { ++leaked; };
      auto ctx = gpu::context::create(options);
      if (!ctx) {
        ready.set_value(std::unexpected(ctx.error()));
        return;
      }
      auto work = conv2d_work::create(**ctx, shapes_, kernels::conv2d_path::zero_copy, my_seed,
                                      fmt::format("multi_context{}", index));
      if (!work) {
        ready.set_value(std::unexpected(work.error()));
        return;
      }
      ready.set_value(work->strategies());
      std::uint64_t serial = 0;
      while (!stop_) {
        work->run_one(**ctx, local);
        // Churn: a buffer with this thread's pattern, verified after the batch.
        auto b = gpu::unified_buffer::create(
            **ctx, {.size = 64ull << 10, .use = gpu::usage::bidirectional, .tag = "multi_context_churn"});
        if (!b) {
          local.fail(fmt::format("multi_context{}: churn buffer: {}", index, b.error().message));
        } else {
          const std::uint64_t s = derive_seed(my_seed, serial++);
          fill_pattern(b->cpu_view(), s);
          work->run_one(**ctx, local);
          if (const auto bad = verify_pattern(b->cpu_view(), s)) {
            ++local.integrity_failures;
            local.fail(fmt::format("multi_context{}: churn buffer pattern mismatch at {}", index, bad->describe()));
          }
        }
        publish(local);
      }
    }
    if (leaked > 0) {
      local.leaks += leaked;
      local.fail(fmt::format("multi_context{}: {} buffers leaked at context destruction", index, leaked.load()));
    }
    publish(local);
  }

  std::uint64_t contexts_;
  std::vector<kernels::conv2d_shape> shapes_;
  gpu::context_options sibling_;  // the set-up context's, for the workers' own (written before they start)
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  step_result pending_;
};

}  // namespace

std::unique_ptr<scenario> make_multi_context(param_reader& in, std::uint64_t seed) {
  in.allow({"contexts", "shapes"});
  const auto contexts = in.count("contexts", 2, 1, 16);
  auto shapes = read_shapes(in, "shapes", {"N1 C4 12x12 K8 3x3 p1"});
  return std::make_unique<multi_context>(seed, contexts, std::move(shapes));
}

}  // namespace gpusoak::scenarios::detail
