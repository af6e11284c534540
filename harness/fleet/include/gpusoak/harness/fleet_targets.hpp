// The machines of a fleet, read from a Prometheus file_sd targets file: the same file the fleet's
// Prometheus scrapes (deploy/prometheus/targets/*.yml), so one list serves both. The format, YAML
// or JSON:
//
//   - targets: ["lab-gpu-01:9464", "lab-gpu-02:9464"]
//     labels: {rack: a}
//
// Each target is one gpusoakd, reached at http://HOST:PORT.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::harness {

struct fleet_target {
  std::string address;  // "host:port", as written (Prometheus' instance label)
  daemon_url url;
  std::map<std::string, std::string> labels;  // the group's labels
  int line = 0;                               // where the target is written, 1-based
};

// Parses the text of a targets file; `source` names it in errors. Errors (validation) read
// "SOURCE:LINE: ..." and name the field: the top level must be a list, each entry a map with
// `targets` (a non-empty list of "host:port" strings; the port is required because without one
// Prometheus would scrape port 80, not gpusoakd's 9464) and optional `labels` (label name ->
// string); no other keys; no target twice; at least one target in all.
[[nodiscard]] result<std::vector<fleet_target>> parse_fleet_targets(std::string_view text, std::string_view source);

// Reads and parses the file; an unreadable file is an error naming it and the --targets flag.
[[nodiscard]] result<std::vector<fleet_target>> load_fleet_targets(const std::string& path);

}  // namespace gpusoak::harness
