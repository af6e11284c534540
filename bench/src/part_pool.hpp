// Threads that write one batch in parts, parked between batches: a producer's helpers then cost
// a wake-up per batch instead of a thread start (15 starts per batch made 16 producer threads
// slower than 4 below ~20 MB on the H100 host).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace gpusoak::bench::detail {

class part_pool {
 public:
  // `threads` writers in all, the caller of for_each_part one of them; below 1 counts as 1.
  explicit part_pool(int threads);
  ~part_pool();
  part_pool(const part_pool&) = delete;
  part_pool& operator=(const part_pool&) = delete;

  [[nodiscard]] int threads() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  // Runs body(first, last) over [0, count) in up to threads() parts, the first on the calling
  // thread, and returns when every part is done. Part boundaries are multiples of `align`
  // elements (a page's worth: no two threads share a cache line or a write-combining buffer).
  // One batch at a time: not reentrant, and only the owning thread calls it.
  template <class Body>
  void for_each_part(std::size_t count, std::size_t align, Body&& body) {
    using body_type = std::remove_reference_t<Body>;  // an lvalue body deduces a reference
    run(
        count, align, [](void* b, std::size_t first, std::size_t last) { (*static_cast<body_type*>(b))(first, last); },
        const_cast<void*>(static_cast<const void*>(&body)));
  }

 private:
  using call_type = void (*)(void* body, std::size_t first, std::size_t last);
  void run(std::size_t count, std::size_t align, call_type call, void* body);
  void work(std::size_t index);

  // The batch; written before generation_ moves on, read by the workers after they see it move.
  std::size_t count_ = 0;
  std::size_t part_ = 0;
  call_type call_ = nullptr;
  void* body_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> remaining_{0};  // workers still on the batch
  std::atomic<bool> stop_{false};
  std::vector<std::jthread> workers_;
};

}  // namespace gpusoak::bench::detail
