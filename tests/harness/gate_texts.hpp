// Gates a stored run on threshold texts, for the gate's tests: a text that does not parse or a
// gate that cannot run throws (a bug in the test, not a verdict to check).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "gpusoak/harness/gate.hpp"
#include "gpusoak/scenarios/threshold.hpp"

namespace gpusoak::test {

inline harness::gate_report gate_on_texts(harness::run_store& store, const std::string& id,
                                          const std::vector<std::string>& texts) {
  std::vector<scenarios::threshold> thresholds;
  for (const auto& text : texts) {
    auto parsed = scenarios::parse_threshold(text);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    thresholds.push_back(*parsed);
  }
  auto report = harness::run_gate(store, id, thresholds);
  if (!report) throw std::runtime_error(report.error().message);
  return *report;
}

}  // namespace gpusoak::test
