#include "gpusoak/harness/plans_dir.hpp"

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

std::filesystem::path plans_dir(const std::optional<std::string>& flag) {
  if (flag) return *flag;
  if (const char* env = std::getenv("GPUSOAK_PLANS_DIR"); env != nullptr && *env != '\0') return env;
  return shipped_plans_dir();
}

}  // namespace gpusoak::harness::detail
