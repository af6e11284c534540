#include "gpusoak/harness/fleet_targets.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace gpusoak::harness {
namespace {

int line_of(const YAML::Node& node, int fallback) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

// Prometheus' label name syntax; anything else makes Prometheus reject the whole file.
bool valid_label_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// "host:port" or "[v6]:port", port 1..65535.
bool valid_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  const std::string port = address.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const long value = std::stol(port);
  const std::string host = address.substr(0, colon);
  const bool bracketed = host.front() == '[' && host.back() == ']';
  return value >= 1 && value <= 65535 && (bracketed || host.find(':') == std::string::npos) &&
         host.find_first_of("/ \t@") == std::string::npos;
}

}  // namespace

result<std::vector<fleet_target>> parse_fleet_targets(std::string_view text, std::string_view source) {
  auto bad = [&](int line, const std::string& message) {
    return make_error(error_kind::validation, fmt::format("{}:{}: {}", source, line, message));
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return bad(e.mark.is_null() ? 1 : e.mark.line + 1, fmt::format("not YAML or JSON: {}", e.msg));
  }
  const std::string example = "e.g. - targets: [\"lab-gpu-01:9464\"]";
  if (!root.IsDefined() || root.IsNull()) return bad(1, fmt::format("the file lists no targets ({})", example));
  if (!root.IsSequence()) {
    return bad(line_of(root, 1), fmt::format("the top level must be a list of target groups ({})", example));
  }
  std::vector<fleet_target> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < root.size(); ++i) {
    const YAML::Node group = root[i];
    const int group_line = line_of(group, 1);
    if (!group.IsMap()) return bad(group_line, fmt::format("entry {} must be a map with a `targets` list", i + 1));
    std::map<std::string, std::string> labels;
    YAML::Node targets;
    for (const auto& kv : group) {
      const std::string key = kv.first.Scalar();
      const int key_line = line_of(kv.first, group_line);
      if (key == "targets") {
        targets = kv.second;
      } else if (key == "labels") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) return bad(key_line, "`labels` must be a map of label name to string value");
        for (const auto& label : kv.second) {
          const std::string name = label.first.Scalar();
          if (!valid_label_name(name)) {
            return bad(line_of(label.first, key_line),
                       fmt::format("label name '{}' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", name));
          }
          if (!label.second.IsScalar()) {
            return bad(line_of(label.second, key_line), fmt::format("label '{}' must have a string value", name));
          }
          labels[name] = label.second.Scalar();
        }
      } else {
        return bad(key_line, fmt::format("unknown key '{}' in a target group; allowed: targets, labels", key));
      }
    }
    if (!targets.IsDefined() || targets.IsNull()) {
      return bad(group_line, fmt::format("entry {} has no `targets` list", i + 1));
    }
    if (!targets.IsSequence() || targets.size() == 0) {
      return bad(line_of(targets, group_line), "`targets` must be a non-empty list of \"host:port\" strings");
    }
    for (const auto& item : targets) {
      const int line = line_of(item, group_line);
      if (!item.IsScalar()) return bad(line, "each target must be a \"host:port\" string");
      const std::string address = item.Scalar();
      if (!valid_address(address)) {
        return bad(line, fmt::format("target '{}' is not host:port (the port is required: gpusoakd listens on 9464, "
                                     "and without one Prometheus would scrape port 80)",
                                     address));
      }
      if (!seen.insert(address).second) {
        return bad(line,
                   fmt::format("target '{}' is listed twice (it would be asked to start the plan twice)", address));
      }
      auto url = parse_daemon_url("http://" + address);
      if (!url) return bad(line, fmt::format("target '{}': {}", address, url.error().message));
      out.push_back({.address = address, .url = *url, .labels = labels, .line = line});
    }
  }
  if (out.empty()) return bad(1, fmt::format("the file lists no targets ({})", example));
  return out;
}

result<std::vector<fleet_target>> load_fleet_targets(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (!file || !(text << file.rdbuf())) {
    // An empty file reads as a failed stream insertion too; let the parser say "lists no targets".
    if (file) return parse_fleet_targets("", path);
    return make_error(error_kind::validation,
                      fmt::format("--targets '{}': cannot read the file (does it exist?)", path));
  }
  return parse_fleet_targets(text.str(), path);
}

}  // namespace gpusoak::harness
