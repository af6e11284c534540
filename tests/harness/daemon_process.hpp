// A real gpusoakd process for tests: started with fork/exec on a free loopback port, its log in
// the state directory, stopped with a signal (and killed with the test: spawn_process). Requests
// go through the CLI's own HTTP client.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::test {

class daemon_process {
 public:
  // The gpusoakd this build made, or $GPUSOAK_GPUSOAKD where the tests run from a packed copy
  // (bench/gpu-run on the lent GPU) and the build's path does not exist.
  static std::string binary() {
    const char* packed = std::getenv("GPUSOAK_GPUSOAKD");
    return packed != nullptr && *packed != '\0' ? packed : GPUSOAKD_BINARY;
  }
  // Starts binary() with --listen 127.0.0.1:0 --state-dir `state` and `extra` flags, and
  // waits until it wrote its address and answers /healthz. Its output goes to `log_file` (default:
  // gpusoakd.log in the state dir; elsewhere when the test fills that dir's disk).
  daemon_process(std::filesystem::path state, std::vector<std::string> extra = {}, std::filesystem::path log_file = {})
      : state_(std::move(state)), log_(log_file.empty() ? state_ / "gpusoakd.log" : std::move(log_file)) {
    std::filesystem::create_directories(state_);
    std::filesystem::remove(state_ / "address");
    std::vector<std::string> args{binary(), "--listen", "127.0.0.1:0", "--state-dir", state_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn(args, log_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream address(state_ / "address");
      std::string text;
      if (address >> text) {
        url_ = harness::parse_daemon_url("http://" + text).value();
        if (auto r = harness::http_call(*url_, "GET", "/healthz"); r && r->status == 200) return;
      }
      if (!running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("gpusoakd did not come up; its log:\n" + log());
  }
  ~daemon_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    expect_no_sanitizer_report(log(), "gpusoakd");
  }
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  [[nodiscard]] const harness::daemon_url& url() const { return *url_; }

  harness::http_reply call(std::string_view method, std::string_view target, std::string_view body = {},
                           const std::optional<std::string>& token = std::nullopt) const {
    auto r = harness::http_call(*url_, method, target, body, token);
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
  }

  // Sends `signal` and waits for the exit; returns the exit status (or 128 + signal).
  int stop(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  [[nodiscard]] bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  [[nodiscard]] std::string log() const {
    std::ifstream file(log_);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }

  // Runs gpusoakd with `args` to its exit (for flags it must refuse); returns the exit status.
  static int run_to_exit(const std::vector<std::string>& args, const std::filesystem::path& log_file) {
    std::vector<std::string> full{binary()};
    full.insert(full.end(), args.begin(), args.end());
    const pid_t pid = spawn(full, log_file);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream file(log_file);
    std::ostringstream text;
    text << file.rdbuf();
    expect_no_sanitizer_report(text.str(), "gpusoakd");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  static pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log_file) {
    return spawn_process(args, log_file);
  }

  std::filesystem::path state_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<harness::daemon_url> url_;
};

}  // namespace gpusoak::test
