// Where plan names are looked up. No build or source path is compiled in: a build copied or
// installed anywhere finds the plans shipped beside it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace gpusoak::harness::detail {

// The shipped plans beside the running program: PROGRAM_DIR/../share/gpusoak/plans. The install
// puts them there (PREFIX/bin/gpusoak, PREFIX/share/gpusoak/plans) and the build tree mirrors that
// layout (build/harness/gpusoak, build/share/gpusoak/plans). Relative "scenarios/plans" when the
// program's path cannot be read (no /proc).
[[nodiscard]] std::filesystem::path shipped_plans_dir();

// `flag` (--plans-dir) when given, else $GPUSOAK_PLANS_DIR when set and not empty, else
// shipped_plans_dir().
[[nodiscard]] std::filesystem::path plans_dir(const std::optional<std::string>& flag);

}  // namespace gpusoak::harness::detail
