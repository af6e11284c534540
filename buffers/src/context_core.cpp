#include "context_core.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace gpusoak::gpu::detail {

void context_core::check_thread() const {
  if (std::this_thread::get_id() == owner) {
    return;
  }
  std::ostringstream who;
  who << "owner " << owner << ", caller " << std::this_thread::get_id();
  // Aborting is the only honest answer: the GL call would go to another context or none.
  std::fprintf(stderr, "gpusoak: GL context '%s' used from a thread that does not own it (%s)\n", name.c_str(),
               who.str().c_str());
  std::abort();
}

std::uint64_t context_core::register_live(leak_record record) {
  std::scoped_lock lock(live_mutex_);
  const std::uint64_t id = next_id_++;
  live_.emplace(id, std::move(record));
  return id;
}

void context_core::unregister_live(std::uint64_t id) {
  std::scoped_lock lock(live_mutex_);
  live_.erase(id);
}

std::uint64_t context_core::live_count() const {
  std::scoped_lock lock(live_mutex_);
  return live_.size();
}

std::uint64_t context_core::report_leaks() {
  std::unordered_map<std::uint64_t, leak_record> leaked;
  {
    std::scoped_lock lock(live_mutex_);
    leaked.swap(live_);
  }
  for (const auto& [id, record] : leaked) {
    spdlog::warn("[context={}] leak: buffer '{}' ({} bytes, {}) alive at context destruction", name, record.tag,
                 record.bytes, record.strategy);
    stats.on_leak();
    if (on_leak) {
      on_leak(record);
    }
  }
  return leaked.size();
}

}  // namespace gpusoak::gpu::detail
