// `gpusoak fleet`'s work on the network: start one plan on every gpusoakd of a targets file,
// follow the runs to their end, and wait until the fleet's Prometheus has scraped their last
// state. Machines are asked in parallel (one thread each per round), so one slow or dead machine
// does not hold up the others; none of them stops the rest.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpusoak/harness/fleet_report.hpp"
#include "gpusoak/harness/fleet_targets.hpp"
#include "gpusoak/harness/promql_check.hpp"

namespace gpusoak::harness {

struct fleet_options {
  std::string start_body;            // POST /api/v1/runs body: {"plan": ...} or {"plan_yaml": ...}
  std::optional<std::string> token;  // the one bearer token of the fleet's daemons
  std::chrono::milliseconds poll{1000};
  // Consecutive failed polls of a run before it counts as unreachable: a daemon that restarts
  // (systemd, after a crash) answers again within seconds and resumes its run.
  int retries = 5;
  int start_attempts = 3;  // /healthz tries (one poll apart) before a machine counts as unreachable
};

struct fleet_started_run {
  std::string id;
  int gpu = 0;
};

// One machine after the start: its runs (one per GPU the plan names), or the row saying why it
// has none (unreachable, or refused with the daemon's message).
struct fleet_member {
  fleet_target target;
  std::vector<fleet_started_run> runs;
  std::optional<fleet_run_row> failure;
};

// Asks every machine's /healthz (retried: start_attempts), then POSTs the plan once (never
// retried: a POST whose answer was lost may have started the run). In the targets' order.
[[nodiscard]] std::vector<fleet_member> start_fleet(std::span<const fleet_target> targets,
                                                    const fleet_options& options);

// Polls every started run until it is final or its machine stopped answering (retries), writing
// one progress line per change to `progress` ("MACHINE  RUN  gpu N  phase 2 frag  45%  running").
// Returns one row per run, then one per member's failure, in the members' order.
[[nodiscard]] std::vector<fleet_run_row> follow_fleet(std::span<const fleet_member> members,
                                                      const fleet_options& options, std::ostream& progress);

// Waits until Prometheus holds a scrape newer than `after` (Unix seconds) of each instance, read
// as timestamp(up{instance="..."}), so checks see the runs' final state. Returns the instances it
// gave up on after `limit` (not scraped by this Prometheus, or relabelled); an unreachable
// Prometheus is an error.
[[nodiscard]] result<std::vector<std::string>> wait_for_scrapes(const prometheus_server& server,
                                                                std::span<const std::string> instances, double after,
                                                                std::chrono::seconds limit);

}  // namespace gpusoak::harness
