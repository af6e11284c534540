// The daemon's HTTP/1.1 server on Boost.Beast: one io_context thread, one coroutine-free async
// session per connection, keep-alive, bounded headers (16 KiB, 100 fields) and bodies, and a
// deadline per request so a slow client cannot hold a connection open. A request that does not
// parse, frames its body ambiguously (a Transfer-Encoding other than chunked), lacks Host in
// HTTP/1.1 or arrives too slowly gets a 4xx naming the problem and a closed connection; the others
// go to a handler (handle_request).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/http_api.hpp"

namespace gpusoak::harness {

struct http_server_options {
  std::string address = "127.0.0.1";
  unsigned short port = 9464;        // 0: any free port (see local_port())
  std::size_t body_limit = 1 << 20;  // bytes; larger bodies get 413
  // To read one whole request; then a started request gets 408 and the connection closes (an idle
  // keep-alive connection just closes). Also bounds writing one response.
  std::chrono::milliseconds request_timeout{10'000};
  // Told the status of each answer the server gives without the handler (400, 408, 413, 431, and
  // 500 when the handler throws), so the daemon counts them beside the handler's. Runs on the
  // server's thread.
  std::function<void(int status)> on_own_answer;
};

using http_handler = std::function<http_response(const http_request&)>;

class http_server {
 public:
  // Binds and starts accepting on `io`. Fails (validation) on an address that does not parse,
  // (internal) when the port cannot be bound, naming both.
  [[nodiscard]] static result<std::unique_ptr<http_server>> start(boost::asio::io_context& io,
                                                                  const http_server_options& options,
                                                                  http_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  [[nodiscard]] unsigned short local_port() const;
  // Stops accepting; open sessions finish their request.
  void close();

 private:
  struct impl;
  explicit http_server(std::shared_ptr<impl> p);
  std::shared_ptr<impl> impl_;
};

// Whether an address is loopback (127.0.0.0/8, ::1, "localhost").
[[nodiscard]] bool is_loopback_address(const std::string& address);

}  // namespace gpusoak::harness
