#include "json_file.hpp"

#include <fstream>

namespace gpusoak::bench::detail {

bool write_json_file(const std::string& path, const nlohmann::json& document) {
  std::ofstream file(path);
  file << document.dump(2) << '\n';
  file.close();
  return static_cast<bool>(file);
}

}  // namespace gpusoak::bench::detail
