#include "gpusoak/harness/fleet_runner.hpp"

#include <fmt/format.h>

#include <future>
#include <ostream>
#include <thread>

#include "gpusoak/harness/run_client.hpp"

namespace gpusoak::harness {
namespace {

using nlohmann::json;

fleet_run_row failure_row(const fleet_target& target, fleet_outcome outcome, std::string detail) {
  return {.machine = target.address, .labels = target.labels, .outcome = outcome, .detail = std::move(detail)};
}

fleet_member start_one(const fleet_target& target, const fleet_options& options) {
  fleet_member member{.target = target};
  std::string last_error;
  bool answered = false;
  for (int attempt = 0; attempt < std::max(1, options.start_attempts) && !answered; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(options.poll);
    auto health = detail::get_json(target.url, "/healthz", detail::poll_timeout);
    answered = health.has_value();
    if (!answered) last_error = health.error().message;
  }
  if (!answered) {
    member.failure = failure_row(
        target, fleet_outcome::unreachable,
        fmt::format("no answer from /healthz after {} tries: {}", std::max(1, options.start_attempts), last_error));
    return member;
  }
  auto started = detail::start_runs(target.url, options.start_body, options.token);
  if (!started) {
    const bool unreachable = started.error().kind == error_kind::io;
    member.failure =
        failure_row(target, unreachable ? fleet_outcome::unreachable : fleet_outcome::refused, started.error().message);
    return member;
  }
  for (const auto& run : *started) member.runs.push_back({.id = run.id, .gpu = run.gpu});
  return member;
}

// A run being followed.
struct followed {
  const fleet_member* member = nullptr;
  fleet_started_run run;
  std::string last_line;
  std::string last_state = "queued";
  int failed_polls = 0;
  std::optional<fleet_run_row> row;  // set when done
};

// The failing thresholds of a failed run, from its gate ("copies_total{...} == 0 (observed 3)").
std::string failed_thresholds(const daemon_url& url, const std::string& id) {
  auto gate = detail::get_json(url, fmt::format("/api/v1/runs/{}/gate?format=json", id), detail::poll_timeout);
  if (!gate || !gate->contains("rows") || !(*gate)["rows"].is_array()) return {};
  std::string text;
  for (const auto& row : (*gate)["rows"]) {
    if (row.value("status", "") != "failed") continue;
    const auto& observed = row.contains("observed") ? row["observed"] : json();
    text += fmt::format("{}{} (observed {})", text.empty() ? "" : "; ", row.value("threshold", "?"),
                        observed.is_number() ? fmt::format("{:g}", observed.get<double>()) : "none");
  }
  return text;
}

// One poll of one run: prints a line when it changed, ends the run when final or given up on.
void poll_once(followed& f, const result<json>& answer, const fleet_options& options, std::ostream& progress) {
  const fleet_target& target = f.member->target;
  auto finish = [&](fleet_outcome outcome, std::string detail) {
    f.row = fleet_run_row{.machine = target.address,
                          .labels = target.labels,
                          .run_id = f.run.id,
                          .gpu = f.run.gpu,
                          .outcome = outcome,
                          .detail = std::move(detail)};
  };
  std::string line;
  if (!answer) {
    ++f.failed_polls;
    line = fmt::format("{}  {}  gpu {}  no answer ({} of {}): {}", target.address, f.run.id, f.run.gpu, f.failed_polls,
                       options.retries, answer.error().message);
    if (f.failed_polls >= options.retries) {
      const bool unreachable = answer.error().kind == error_kind::io;
      finish(
          unreachable ? fleet_outcome::unreachable : fleet_outcome::could_not_run,
          fmt::format("lost while {} after {} failed polls: {}", f.last_state, f.failed_polls, answer.error().message));
    }
  } else {
    f.failed_polls = 0;
    const json& run = *answer;
    f.last_state = run.value("state", "");
    line = fmt::format("{}  {}  gpu {}  {}  {:>3.0f}%  {}", target.address, f.run.id, f.run.gpu,
                       detail::phase_text(run), 100.0 * run.value("progress_ratio", 0.0), f.last_state);
    if (detail::is_final(f.last_state)) {
      const fleet_outcome outcome = outcome_from_state(f.last_state);
      std::string detail = run.value("verdict_reason", "");
      if (detail.empty()) detail = f.last_state;
      if (outcome == fleet_outcome::failed) {
        if (auto which = failed_thresholds(target.url, f.run.id); !which.empty()) detail += ": " + which;
      }
      finish(outcome, std::move(detail));
    }
  }
  if (line != f.last_line) {
    progress << line << "\n";
    progress.flush();
    f.last_line = std::move(line);
  }
}

}  // namespace

std::vector<fleet_member> start_fleet(std::span<const fleet_target> targets, const fleet_options& options) {
  std::vector<std::future<fleet_member>> pending;
  for (const auto& target : targets) {
    pending.push_back(std::async(std::launch::async, [&target, &options] { return start_one(target, options); }));
  }
  std::vector<fleet_member> members;
  for (auto& p : pending) members.push_back(p.get());
  return members;
}

std::vector<fleet_run_row> follow_fleet(std::span<const fleet_member> members, const fleet_options& options,
                                        std::ostream& progress) {
  std::vector<followed> runs;
  for (const auto& member : members) {
    for (const auto& run : member.runs) runs.push_back({.member = &member, .run = run});
  }
  for (bool first = true;; first = false) {
    std::vector<std::pair<followed*, std::future<result<json>>>> round;
    for (auto& f : runs) {
      if (f.row) continue;
      const daemon_url url = f.member->target.url;
      const std::string target = "/api/v1/runs/" + f.run.id;
      round.emplace_back(&f, std::async(std::launch::async,
                                        [url, target] { return detail::get_json(url, target, detail::poll_timeout); }));
    }
    if (round.empty()) break;
    if (!first) std::this_thread::sleep_for(options.poll);
    for (auto& [f, answer] : round) poll_once(*f, answer.get(), options, progress);
  }
  std::vector<fleet_run_row> rows;
  for (auto& f : runs) rows.push_back(std::move(*f.row));
  for (const auto& member : members) {
    if (member.failure) rows.push_back(*member.failure);
  }
  return rows;
}

result<std::vector<std::string>> wait_for_scrapes(const prometheus_server& server,
                                                  std::span<const std::string> instances, double after,
                                                  std::chrono::seconds limit) {
  std::vector<std::string> waiting(instances.begin(), instances.end());
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!waiting.empty()) {
    std::vector<std::string> still;
    for (const auto& instance : waiting) {
      std::string escaped;
      for (char c : instance) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
      auto samples = promql_query(server, fmt::format("timestamp(up{{instance=\"{}\"}})", escaped));
      if (!samples && samples.error().kind == error_kind::io) return std::unexpected(samples.error());
      bool scraped = false;
      if (samples) {
        for (const auto& s : *samples) scraped = scraped || s.value > after;
      }
      if (!scraped) still.push_back(instance);
    }
    waiting = std::move(still);
    if (waiting.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return waiting;
}

}  // namespace gpusoak::harness
