#include "gpusoak/harness/build_info.hpp"

// Both come from harness/CMakeLists.txt, on this file only, so a new commit recompiles one file.
#ifndef GPUSOAK_VERSION
#error "GPUSOAK_VERSION is set by harness/CMakeLists.txt"
#endif
#ifndef GPUSOAK_COMMIT
#error "GPUSOAK_COMMIT is set by harness/CMakeLists.txt"
#endif

namespace gpusoak::harness {

std::string_view gpusoak_version() noexcept {
  return GPUSOAK_VERSION;
}

std::string_view gpusoak_commit() noexcept {
  return GPUSOAK_COMMIT;
}

}  // namespace gpusoak::harness
