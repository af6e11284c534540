#include "part_pool.hpp"

#include <algorithm>

namespace gpusoak::bench::detail {

part_pool::part_pool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(static_cast<std::size_t>(i)); });
}

part_pool::~part_pool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  // The jthreads join here, each having seen stop_.
}

void part_pool::run(std::size_t count, std::size_t align, call_type call, void* body) {
  const auto parts = static_cast<std::size_t>(threads());
  part_ = (count + parts - 1) / parts / align * align + align;
  if (workers_.empty() || part_ >= count) {
    call(body, 0, count);
    return;
  }
  count_ = count;
  call_ = call;
  body_ = body;
  remaining_.store(workers_.size(), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  call(body, 0, part_);
  // Every worker takes part in every batch (one whose part starts past the end only reports), so
  // none can still be reading this batch when the next one is written.
  for (std::size_t left = remaining_.load(std::memory_order_acquire); left != 0;
       left = remaining_.load(std::memory_order_acquire)) {
    remaining_.wait(left, std::memory_order_acquire);
  }
}

void part_pool::work(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    generation_.wait(seen, std::memory_order_acquire);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    const std::size_t first = index * part_;
    if (first < count_) call_(body_, first, std::min(count_, first + part_));
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_one();
  }
}

}  // namespace gpusoak::bench::detail
