#include "gpusoak/harness/plans_dir.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <system_error>

namespace gpusoak::harness::detail {

std::filesystem::path shipped_plans_dir() {
  std::error_code ec;
  // The program itself, not argv[0]: a wrapper, a symlink in PATH or a relative start all resolve.
  const auto program = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || program.empty()) return "scenarios/plans";
  return program.parent_path().parent_path() / "share" / "gpusoak" / "plans";
}

gpu::result<std::vector<std::filesystem::path>> plans_dirs(const std::optional<std::string>& flag) {
  std::optional<std::string> user = flag;
  std::string where = "--plans-dir";
  if (const char* env = std::getenv("GPUSOAK_PLANS_DIR"); !user && env != nullptr && *env != '\0') {
    user = env;
    where = "$GPUSOAK_PLANS_DIR";
  }
  const std::filesystem::path shipped = shipped_plans_dir();
  if (!user) return std::vector{shipped};
  // Opened here, so a typo fails at start with the reason, not as "no plan named" at the first run.
  std::error_code ec;
  std::filesystem::directory_iterator listing(*user, ec);
  if (ec) {
    return gpu::make_error(
        gpu::error_kind::validation,
        fmt::format("{} '{}': {}; give a folder of plan files (NAME.yaml), which are looked up before the shipped "
                    "plans",
                    where, *user, ec.message()));
  }
  std::vector<std::filesystem::path> dirs{*user};
  if (!std::filesystem::equivalent(*user, shipped, ec)) dirs.push_back(shipped);
  return dirs;
}

}  // namespace gpusoak::harness::detail
