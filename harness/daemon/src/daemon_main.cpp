// gpusoakd: the soak daemon. HTTP on one io_context thread (API, /metrics, /healthz), signals on
// the same io_context, one GPU worker thread per device with a run (run_manager).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string_view>

#include "gpusoak/harness/build_info.hpp"
#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/daemon_flags.hpp"
#include "gpusoak/harness/daemon_main.hpp"
#include "gpusoak/harness/daemon_metrics.hpp"
#include "gpusoak/harness/exit_codes.hpp"
#include "gpusoak/harness/http_api.hpp"
#include "gpusoak/harness/http_server.hpp"
#include "gpusoak/harness/plans_dir.hpp"
#include "gpusoak/harness/run_manager.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {
namespace {

constexpr const char* summary =
    "gpusoakd: the soak daemon. Runs soak plans on this machine's GPUs (one run per GPU at a time),\n"
    "stores every run in DIR/runs.db (SQLite), serves the HTTP API (/api/v1/runs), /metrics for\n"
    "Prometheus and /healthz. On start it resumes runs that a crash or a shutdown interrupted.\n"
    "SIGTERM/SIGINT: the running step finishes, the run is stored as interrupted, exit 0.\n"
    "Bound to a non-loopback address it requires --token-file: POST requests then need\n"
    "'Authorization: Bearer <token>'. Writes the bound address to DIR/address.";

struct listen_address {
  std::string host;
  unsigned short port = 0;
};

result<listen_address> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  auto bad = [&] {
    return make_error(error_kind::validation,
                      fmt::format("--listen '{}': use ADDRESS:PORT, e.g. 127.0.0.1:9464 (port 0: any free)", text));
  };
  if (colon == std::string::npos || colon == 0) return bad();
  listen_address out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) return bad();
  out.port = static_cast<unsigned short>(value);
  return out;
}

// The token guards every state change; a file any local user can read gives it away. A warning,
// not a refusal: Kubernetes secrets and compose secrets are mounted 0644/0444 by default, with the
// container as the boundary.
void warn_if_others_can_read(const std::string& path) {
  std::error_code ec;
  const auto perms = std::filesystem::status(path, ec).permissions();
  if (ec || (perms & std::filesystem::perms::others_read) == std::filesystem::perms::none) return;
  spdlog::warn(
      "run=- scenario=- context=-: --token-file '{}' is readable by every user of this machine; "
      "chmod 0640 it (owner root, group gpusoak) or 0600",
      path);
}

}  // namespace

int daemon_main(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  std::vector<flag_spec> specs{
      {"listen", "ADDR:PORT", "where the HTTP API listens (default 127.0.0.1:9464; port 0: any free port)"},
      {"state-dir", "DIR", "run store and state (default: $GPUSOAK_STATE_DIR, else ./gpusoak-state)"},
      {"token-file", "FILE", "bearer token for state-changing requests; required off loopback"},
      {"plans-dir", "DIR",
       "your plans: names are looked up here first, then in the shipped plans (default: $GPUSOAK_PLANS_DIR)"},
      {"no-resume", "", "do not resume interrupted runs at start (they stay interrupted)"},
      {"request-timeout", "DURATION",
       "how long a client may take to send one request (default 10s); then 408 and the connection closes"},
  };
  for (auto& spec : context_flag_specs()) {
    if (spec.name != "device") specs.push_back(std::move(spec));  // plans name their devices
  }
  auto parsed =
      parse_command_line({.usage = "", .summary = summary, .flags = specs, .program = "gpusoakd"}, args, out, err);
  if (!parsed) return parsed.error();
  auto listen = parse_listen(parsed->value("listen").value_or("127.0.0.1:9464"));
  if (!listen) {
    err << "gpusoakd: " << listen.error().message << "\n";
    return exit_could_not_run;
  }
  std::optional<std::string> token;
  if (auto path = parsed->value("token-file")) {
    auto read = read_token_file(*path);
    if (!read) {
      err << "gpusoakd: " << read.error().message << "\n";
      return exit_could_not_run;
    }
    token = std::move(*read);
    warn_if_others_can_read(*path);
  } else if (!is_loopback_address(listen->host)) {
    err << fmt::format(
        "gpusoakd: --listen {}:{} is reachable from other machines: give --token-file FILE so that starting and "
        "stopping runs needs a bearer token (or listen on 127.0.0.1)\n",
        listen->host, listen->port);
    return exit_could_not_run;
  }
  std::chrono::milliseconds request_timeout{10'000};
  if (auto flag = parsed->value("request-timeout")) {
    auto parsed_timeout = scenarios::parse_duration(*flag);
    if (!parsed_timeout || *parsed_timeout < std::chrono::milliseconds(100) ||
        *parsed_timeout > std::chrono::hours(1)) {
      err << fmt::format("gpusoakd: --request-timeout '{}': {}\n", *flag,
                         parsed_timeout ? "use a duration from 100ms to 1h, e.g. 10s" : parsed_timeout.error().message);
      return exit_could_not_run;
    }
    request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed_timeout);
  }
  auto context = context_options_from(*parsed);
  if (!context) {
    err << "gpusoakd: " << context.error().message << "\n";
    return exit_could_not_run;
  }

  std::string state_dir = "gpusoak-state";
  if (auto flag = parsed->value("state-dir")) {
    state_dir = *flag;
  } else if (const char* env = std::getenv("GPUSOAK_STATE_DIR"); env != nullptr && *env != '\0') {
    state_dir = env;
  }
  const auto plans_dirs = detail::plans_dirs(parsed->value("plans-dir"));
  if (!plans_dirs) {
    err << "gpusoakd: " << plans_dirs.error().message << "\n";
    return exit_could_not_run;
  }
  std::string plans_searched;  // for the start line: "/srv/plans, then /usr/share/gpusoak/plans"
  for (const auto& dir : *plans_dirs) plans_searched += (plans_searched.empty() ? "" : ", then ") + dir.string();
  // A file size limit (RLIMIT_FSIZE, e.g. `ulimit -f` in a unit file) must fail the write that
  // passes it with EFBIG, which the run store reports as a full disk, not kill the daemon with
  // SIGXFSZ's default action.
  std::signal(SIGXFSZ, SIG_IGN);
  std::error_code fs_error;
  std::filesystem::create_directories(state_dir, fs_error);
  if (fs_error) {
    err << fmt::format("gpusoakd: --state-dir '{}': {}\n", state_dir, fs_error.message());
    return exit_could_not_run;
  }
  const std::string db_path = (std::filesystem::path(state_dir) / "runs.db").string();
  auto store = run_store::open(db_path);
  if (!store) {
    err << fmt::format("gpusoakd: {}\n", store.error().message);
    return exit_could_not_run;
  }

  daemon_metrics metrics{std::string(gpusoak_version())};
  run_manager runs(*store, &metrics, {.context = *context, .plans_dirs = *plans_dirs, .max_failure_events = 20});
  api_context api{
      .store = *store, .runs = runs, .metrics = metrics, .token = token, .version = std::string(gpusoak_version())};

  boost::asio::io_context io(1);
  auto server = http_server::start(io,
                                   {.address = listen->host,
                                    .port = listen->port,
                                    .request_timeout = request_timeout,
                                    .on_own_answer = [&metrics](int status) { metrics.request_answered(status); }},
                                   [&api](const http_request& request) { return handle_request(request, api); });
  if (!server) {
    err << "gpusoakd: " << server.error().message << "\n";
    return exit_could_not_run;
  }
  const std::string bound = fmt::format("{}:{}", listen->host, (*server)->local_port());
  {
    std::ofstream address(std::filesystem::path(state_dir) / "address", std::ios::trunc);
    address << bound << "\n";
  }
  spdlog::info("run=- scenario=- context=-: gpusoakd {} listening on http://{} (state {}, plans {}{})",
               gpusoak_version(), bound, state_dir, plans_searched, token ? ", token required for POST" : "");

  if (!parsed->has("no-resume")) {
    auto resumed = runs.resume_interrupted();
    if (!resumed) {
      spdlog::error("run=- scenario=- context=-: resuming interrupted runs failed: {}", resumed.error().message);
    } else if (!resumed->empty()) {
      spdlog::info("run=- scenario=- context=-: resumed {} interrupted run(s)", resumed->size());
    }
  }

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("run=- scenario=- context=-: signal {}: finishing the current steps, storing, exiting", signal);
    (*server)->close();
    // Workers finish their step and store; the io thread waits for them (nothing else to serve).
    runs.shutdown();
    io.stop();
  });
  io.run();
  runs.shutdown();
  spdlog::info("run=- scenario=- context=-: gpusoakd stopped");
  return exit_pass;
}

}  // namespace gpusoak::harness
