// This build of gpusoak, as a run records it (run_store's provenance, gpusoak_run_info).
#pragma once

#include <string_view>

namespace gpusoak::harness {

// CMake's project version ("0.1.0").
[[nodiscard]] std::string_view gpusoak_version() noexcept;
// `git describe --always --dirty` of the source tree when CMake last configured it ("c090ecf4fa14",
// "c090ecf4fa14-dirty"), or "unknown" where the sources are not a git checkout or git is missing.
// A commit made since the last configure shows once CMake runs again (a commit re-runs it).
[[nodiscard]] std::string_view gpusoak_commit() noexcept;

}  // namespace gpusoak::harness
