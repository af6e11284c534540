// fragmentation: random log-uniform alloc/free in a buffer_pool; every live block carries a seeded
// pattern written on alloc and verified before free and every few steps (memtest-style).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <random>

#include "factories.hpp"
#include "gpusoak/buffers/pool.hpp"
#include "gpusoak/scenarios/pattern.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {

constexpr std::string_view scenario_name = "fragmentation";
constexpr std::uint64_t min_block = 16;
constexpr int ops_per_step = 64;
constexpr int verify_all_every = 8;  // steps
constexpr std::size_t max_live = 512;

class fragmentation final : public scenario {
 public:
  fragmentation(std::uint64_t seed, std::uint64_t chunk, std::uint64_t max_block, std::uint32_t max_chunks)
      : scenario(seed), chunk_(chunk), max_block_(max_block), max_chunks_(max_chunks), rng_(seed) {}

  std::string_view name() const noexcept override { return scenario_name; }

  result<void> setup(gpu::context& ctx) override {
    GPUSOAK_TRY_ASSIGN(auto pool, gpu::buffer_pool::create(ctx, {.use = gpu::usage::bidirectional,
                                                                 .chunk_size = chunk_,
                                                                 .max_chunks = max_chunks_,
                                                                 .tag = "fragmentation"}));
    pool_.emplace(std::move(pool));
    return {};
  }

  step_result step(gpu::context&) override {
    step_result out;
    std::uniform_real_distribution<double> log_size(std::log(double(min_block)), std::log(double(max_block_)));
    for (int op = 0; op < ops_per_step; ++op) {
      const bool alloc = live_.empty() || (live_.size() < max_live && std::bernoulli_distribution(0.55)(rng_));
      if (alloc) {
        const auto size = static_cast<std::uint64_t>(std::exp(log_size(rng_)));
        const auto start = std::chrono::steady_clock::now();
        auto block = pool_->allocate(size);
        out.latency.add(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (!block) {
          if (block.error().kind != error_kind::out_of_memory) {
            out.fail(fmt::format("pool allocate({}) failed: {}", size, block.error().message));
            continue;
          }
          // Full: a refusal the pool's free bytes could have held is fragmentation's cost.
          if (pool_->stats().totals.free >= size) ++out.fragmentation_refusals;
          free_one(out, std::uniform_int_distribution<std::size_t>(0, live_.size() - 1)(rng_));
          continue;
        }
        if (strategies().empty()) {
          note_strategy(gpu::usage::bidirectional, pool_->chunk_buffer(block->chunk).strategy());
        }
        live_entry e{.block = *block, .seed = derive_seed(seed(), serial_++)};
        fill_pattern(e.block.bytes, e.seed);
        live_.push_back(e);
      } else {
        free_one(out, std::uniform_int_distribution<std::size_t>(0, live_.size() - 1)(rng_));
      }
      ++out.iterations;
    }
    if (++steps_ % verify_all_every == 0) {
      for (const auto& e : live_) verify(out, e);
    }
    if (const auto v = pool_->validate(); !v.empty()) out.fail("pool invariants broken: " + v);
    out.fragmentation = pool_->stats().totals.fragmentation();
    return out;
  }

  step_result teardown(gpu::context&) override {
    step_result out;
    while (!live_.empty()) free_one(out, live_.size() - 1);
    out.fragmentation = pool_->stats().totals.fragmentation();
    pool_.reset();
    return out;
  }

  bool inject(fault f) override {
    if (f != fault::corrupt_pattern || live_.empty()) return false;
    auto& bytes = live_.front().block.bytes;
    bytes[bytes.size() / 2] ^= std::byte{0x5a};
    return true;
  }

 private:
  struct live_entry {
    gpu::pool_block block;
    std::uint64_t seed = 0;
  };

  void verify(step_result& out, const live_entry& e) {
    if (const auto bad = verify_pattern(e.block.bytes, e.seed)) {
      ++out.integrity_failures;
      out.fail(fmt::format("pool block chunk {} offset {} size {}: pattern mismatch at {}", e.block.chunk,
                           e.block.offset, e.block.size, bad->describe()));
    }
  }

  void free_one(step_result& out, std::size_t index) {
    verify(out, live_[index]);
    if (auto f = pool_->free(live_[index].block); !f) out.fail("pool free failed: " + f.error().message);
    live_[index] = live_.back();
    live_.pop_back();
  }

  std::uint64_t chunk_, max_block_;
  std::uint32_t max_chunks_;
  std::mt19937_64 rng_;
  std::optional<gpu::buffer_pool> pool_;
  std::vector<live_entry> live_;
  std::uint64_t serial_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<scenario> make_fragmentation(param_reader& in, std::uint64_t seed) {
  in.allow({"pool_chunk", "max_block", "max_chunks"});
  const auto chunk = in.bytes("pool_chunk", 1ull << 20, 64ull << 10, 1ull << 30);
  const auto max_block = in.bytes("max_block", std::min<std::uint64_t>(64ull << 10, chunk), 64, chunk);
  const auto max_chunks = in.count("max_chunks", 4, 1, 256);
  return std::make_unique<fragmentation>(seed, chunk, max_block, static_cast<std::uint32_t>(max_chunks));
}

}  // namespace gpusoak::scenarios::detail
