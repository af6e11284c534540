// A child process for tests: argv run with stdout and stderr in a log file, killed with the test
// (PR_SET_PDEATHSIG: a crashed or killed test leaves no daemon or Prometheus behind) and by the
// destructor, waited for with a deadline so a hung child fails the test instead of hanging it.
// A sanitizer report in the child's log fails the test (expect_no_sanitizer_report), however the
// child ended.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gpusoak::test {

// In the sanitizer builds (scripts/test-sanitizers) our children (gpusoakd, the gpusoak CLI) are
// instrumented too, but their reports go to their log, not the test's output, and a child killed
// with SIGKILL at the end of a test, or one whose report comes after the test's last request,
// would go unnoticed. So every child's log is read when it is done with: one of these banners
// fails the test, with the report. Plain builds never print them.
inline void expect_no_sanitizer_report(std::string_view log, std::string_view child) {
  for (std::string_view banner : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                                  "ThreadSanitizer: reported", ": runtime error: "}) {
    if (auto at = log.find(banner); at != std::string_view::npos) {
      const auto line = log.rfind('\n', at);  // the report from its first line on
      ADD_FAILURE() << child << " printed a sanitizer report:\n"
                    << log.substr(line == std::string_view::npos ? 0 : line + 1, 12000);
      return;
    }
  }
}

// fork + execv; the child's output goes to `log_file` (appended). Returns the pid.
inline pid_t spawn_process(const std::vector<std::string>& args, const std::filesystem::path& log_file) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died between fork and prctl
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

class child_process {
 public:
  child_process(const std::vector<std::string>& args, std::filesystem::path log_file)
      : log_(std::move(log_file)), pid_(spawn_process(args, log_)) {}
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    expect_no_sanitizer_report(log(), log_.filename().string());
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The exit status (128 + signal when killed by one), or nothing when `limit` passed first; the
  // child is then killed.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  [[nodiscard]] bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  [[nodiscard]] std::string log() const {
    std::ifstream file(log_);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace gpusoak::test
