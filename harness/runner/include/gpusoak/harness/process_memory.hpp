// Internal to the harness (namespace detail): the process's resident memory, for samples (soak worker) and /metrics
// (daemon).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <fstream>

namespace gpusoak::harness::detail {

// Bytes resident now (/proc/self/statm); 0 when it cannot be read.
inline std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace gpusoak::harness::detail
