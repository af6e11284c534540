#include "gpusoak/buffers/counters.hpp"

#include <numeric>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::gpu {

std::string_view to_string(copy_path path) noexcept {
  switch (path) {
    case copy_path::staging_upload: return "staging_upload";
    case copy_path::device_upload: return "device_upload";
    case copy_path::readback_copy: return "readback_copy";
    case copy_path::gpu_copy: return "gpu_copy";
    case copy_path::cpu_memcpy: return "cpu_memcpy";
    case copy_path::count_: break;
  }
  return "?";
}

std::uint64_t counters_snapshot::total_copies() const noexcept {
  return std::accumulate(copies.begin(), copies.end(), std::uint64_t{0});
}

std::uint64_t counters_snapshot::total_copied_bytes() const noexcept {
  return std::accumulate(copied_bytes.begin(), copied_bytes.end(), std::uint64_t{0});
}

void counters::on_allocate(std::uint64_t bytes) noexcept {
  allocations_.fetch_add(1, std::memory_order_relaxed);
  live_buffers_.fetch_add(1, std::memory_order_relaxed);
  live_bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

void counters::on_free(std::uint64_t bytes) noexcept {
  frees_.fetch_add(1, std::memory_order_relaxed);
  live_buffers_.fetch_sub(1, std::memory_order_relaxed);
  live_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void counters::on_copy(copy_path path, std::uint64_t bytes) noexcept {
  const auto i = static_cast<std::size_t>(path);
  copies_[i].fetch_add(1, std::memory_order_relaxed);
  copied_bytes_[i].fetch_add(bytes, std::memory_order_relaxed);
}

void counters::on_fence_wait(std::uint64_t ns) noexcept {
  fence_waits_.fetch_add(1, std::memory_order_relaxed);
  fence_wait_ns_.fetch_add(ns, std::memory_order_relaxed);
}

counters_snapshot counters::snapshot() const noexcept {
  const auto get = [](const counter& c) { return c.load(std::memory_order_relaxed); };
  counters_snapshot s;
  s.allocations = get(allocations_);
  s.frees = get(frees_);
  s.live_buffers = get(live_buffers_);
  s.live_bytes = get(live_bytes_);
  for (std::size_t i = 0; i < copy_path_count; ++i) {
    s.copies[i] = get(copies_[i]);
    s.copied_bytes[i] = get(copied_bytes_[i]);
  }
  s.maps = get(maps_);
  s.flushes = get(flushes_);
  s.barriers = get(barriers_);
  s.fence_waits = get(fence_waits_);
  s.fence_wait_ns = get(fence_wait_ns_);
  s.out_of_memory = get(oom_);
  s.gl_errors = get(gl_errors_);
  s.fallbacks = get(fallbacks_);
  s.leaked_buffers = get(leaked_);
  return s;
}

}  // namespace gpusoak::gpu
