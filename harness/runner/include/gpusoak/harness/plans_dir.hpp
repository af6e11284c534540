// Where plan names are looked up. No build or source path is compiled in: a build copied or
// installed anywhere finds the plans shipped beside it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::harness::detail {

// The shipped plans beside the running program: PROGRAM_DIR/../share/gpusoak/plans. The install
// puts them there (PREFIX/bin/gpusoak, PREFIX/share/gpusoak/plans) and the build tree mirrors that
// layout (build/harness/gpusoak, build/share/gpusoak/plans). Relative "scenarios/plans" when the
// program's path cannot be read (no /proc).
[[nodiscard]] std::filesystem::path shipped_plans_dir();

// The folders plan names are looked up in, in order (scenarios::find_named_plan): the user's folder
// first, `flag` (--plans-dir) when given, else $GPUSOAK_PLANS_DIR when set and not empty; then
// shipped_plans_dir(). A user's plan with a shipped plan's name wins; the other shipped plans stay
// reachable. A validation error, naming the flag or the variable, when the user's folder is not a
// readable directory.
[[nodiscard]] gpu::result<std::vector<std::filesystem::path>> plans_dirs(const std::optional<std::string>& flag);

}  // namespace gpusoak::harness::detail
