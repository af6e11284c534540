// A TCP client that sends exact bytes and reads what comes back, for tests of malformed HTTP: no
// HTTP library in the way to fix the request up. Every read has a deadline; a send to a peer that
// is gone fails instead of raising SIGPIPE.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gpusoak::test {

class raw_connection {
 public:
  // Connects to host:port (an IPv4 address); throws when it cannot.
  raw_connection(const std::string& host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || ::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      const std::string why = std::strerror(errno);
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " + why);
    }
  }
  ~raw_connection() { close(); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // All of `bytes`; false when the peer closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // No more bytes from us (the server reads end of stream); we can still read.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  struct received {
    std::string bytes;
    bool closed = false;  // the server closed (or reset) the connection
  };

  // Reads until the server closes or `limit` passes.
  received read_until_close(std::chrono::milliseconds limit) {
    received out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[16384];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        out.closed = true;
        return out;
      }
      out.bytes.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Whatever arrives within `limit` (without waiting for a close).
  std::string read_for(std::chrono::milliseconds limit) {
    std::string bytes;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return bytes;
      char chunk[16384];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return bytes;
      bytes.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
};

struct raw_response {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Splits what a server sent into responses framed by Content-Length (the only framing gpusoakd
// uses); a trailing incomplete one is left out.
inline std::vector<raw_response> parse_responses(std::string_view bytes) {
  std::vector<raw_response> out;
  while (!bytes.empty()) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos || !bytes.starts_with("HTTP/1.")) break;
    raw_response r;
    r.head = std::string(bytes.substr(0, head_end));
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t length = 0;
    for (std::size_t at = 0; (at = r.head.find("\r\n", at)) != std::string::npos;) {
      at += 2;
      constexpr std::string_view name = "content-length:";
      std::string line = r.head.substr(at, name.size());
      for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (line == name) length = std::stoul(r.head.substr(at + name.size()));
    }
    if (bytes.size() < head_end + 4 + length) break;
    r.body = std::string(bytes.substr(head_end + 4, length));
    bytes.remove_prefix(head_end + 4 + length);
    out.push_back(std::move(r));
  }
  return out;
}

// Reads until `count` whole responses arrived (or `limit` passed); returns those that did.
inline std::vector<raw_response> read_responses(raw_connection& c, std::size_t count, std::chrono::milliseconds limit) {
  std::string bytes;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    bytes += c.read_for(std::chrono::milliseconds(20));
    if (parse_responses(bytes).size() >= count) break;
  }
  return parse_responses(bytes);
}

}  // namespace gpusoak::test
