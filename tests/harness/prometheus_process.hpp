// Debian's `prometheus` for tests: on a free loopback port, storage in a temp dir, scraping the
// gpusoakd listed in a file_sd targets file every second (job gpusoak, as deploy/ configures it).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "child_process.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::test {

// A loopback port nothing listens on right now (bound, read back, closed).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class prometheus_process {
 public:
  // Writes the config under `dir`, starts PROMETHEUS_BINARY and waits (30 s at most) for /-/ready.
  prometheus_process(const std::filesystem::path& dir, const std::filesystem::path& targets_file) : port_(free_port()) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "prometheus.yml") << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                                          << "scrape_configs:\n"
                                          << "  - job_name: gpusoak\n"
                                          << "    file_sd_configs: [{files: [\"" << targets_file.string() << "\"]}]\n";
    process_.emplace(
        std::vector<std::string>{PROMETHEUS_BINARY, "--config.file=" + (dir / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        dir / "prometheus.log");
    const harness::daemon_url server{.host = "127.0.0.1", .port = std::to_string(port_)};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto ready = harness::http_call(server, "GET", "/-/ready", {}, std::nullopt, std::chrono::seconds(2));
      if (ready && ready->status == 200) return;
      if (!process_->running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("prometheus did not become ready; its log:\n" + process_->log());
  }

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string log() const { return process_->log(); }

 private:
  int port_;
  std::optional<child_process> process_;
};

}  // namespace gpusoak::test
