// State a context shares with the objects made on it. Buffers hold it through shared_ptr so a
// buffer outliving its context (a leak, reported at context destruction) is still safe to drop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "gpusoak/buffers/capabilities.hpp"
#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/counters.hpp"

namespace gpusoak::gpu::detail {

struct context_core {
  context_core(std::string context_name, std::uint64_t budget_limit)
      : name(std::move(context_name)), owner(std::this_thread::get_id()), budget(budget_limit) {}

  std::string name;
  std::thread::id owner;
  capabilities caps;
  gpu::counters stats;
  memory_budget budget;
  std::function<void(const leak_record&)> on_leak;
  // False once the GL context is gone: objects made on it died with it, so nothing is deleted.
  std::atomic<bool> alive{true};

  // Aborts on a call from a thread other than the owner (see context.hpp).
  void check_thread() const;

  std::uint64_t register_live(leak_record record);
  void unregister_live(std::uint64_t id);
  std::uint64_t live_count() const;
  // Reports and forgets every live record; returns how many there were.
  std::uint64_t report_leaks();

 private:
  mutable std::mutex live_mutex_;
  std::unordered_map<std::uint64_t, leak_record> live_;
  std::uint64_t next_id_ = 1;
};

}  // namespace gpusoak::gpu::detail
