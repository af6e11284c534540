#include "gpusoak/harness/http_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace gpusoak::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: read a request (under a deadline), answer, repeat while keep-alive.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, const http_server_options& options, std::shared_ptr<http_handler> handler)
      : stream_(std::move(socket)), options_(options), handler_(std::move(handler)) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(options_.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      answer_early(error_response(413, fmt::format("the body is larger than {} bytes", options_.body_limit)));
      return;
    }
    if (ec == http::error::header_limit) {
      answer_early(error_response(431, "the request headers are larger than 16 KiB"));
      return;
    }
    if (ec) {
      answer_early(error_response(400, fmt::format("malformed HTTP request: {}", ec.message())));
      return;
    }
    auto request = parser_->release();
    http_response response;
    try {
      response = (*handler_)(request);
    } catch (const std::exception& e) {
      response = error_response(500, fmt::format("internal error: {}", e.what()), request.version());
    }
    write(std::move(response), !request.keep_alive());
  }

  void write(http_response response, bool close_after) {
    if (close_after) response.keep_alive(false);
    response_ = std::make_shared<http_response>(std::move(response));
    stream_.expires_after(options_.request_timeout);
    http::async_write(stream_, *response_, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
      if (ec || close_after) {
        self->close();
        return;
      }
      self->read();
    });
  }

  // An answer before the whole request was read (413, 431, 400): the client may still be sending.
  // Closing a socket with unread data makes the kernel send RST, which can destroy the answer
  // before the client reads it (it then sees "broken pipe" or "connection reset", not the 413;
  // seen in daemon_test's 2 MiB body on an idle machine). So after the answer: stop sending, and
  // read and drop what still arrives for at most a second ("lingering close"), then close.
  void answer_early(http_response response) {
    response.keep_alive(false);
    response_ = std::make_shared<http_response>(std::move(response));
    stream_.expires_after(options_.request_timeout);
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->close();
        return;
      }
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->stream_.expires_after(std::chrono::seconds(1));  // for every read of the drain
      self->drain();
    });
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->close();  // the client's end of stream, the deadline, or an error
                                return;
                              }
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http_server_options options_;  // a copy: sessions may outlive the server
  std::shared_ptr<http_handler> handler_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_response> response_;
  std::array<char, 64 * 1024> drain_buffer_{};
};

}  // namespace

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& io, http_server_options o, http_handler h)
      : io(io), options(std::move(o)), handler(std::make_shared<http_handler>(std::move(h))), acceptor(io) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) {
        std::make_shared<session>(std::move(socket), self->options, self->handler)->start();
      } else {
        spdlog::warn("run=- scenario=- context=-: accept failed: {}", ec.message());
      }
      self->accept();
    });
  }

  asio::io_context& io;
  http_server_options options;
  std::shared_ptr<http_handler> handler;
  tcp::acceptor acceptor;
};

gpu::result<std::unique_ptr<http_server>> http_server::start(asio::io_context& io, const http_server_options& options,
                                                             http_handler handler) {
  beast::error_code ec;
  const std::string host = options.address == "localhost" ? "127.0.0.1" : options.address;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return gpu::make_error(
        gpu::error_kind::validation,
        fmt::format("listen address '{}' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)", options.address));
  }
  auto p = std::make_shared<impl>(io, options, std::move(handler));
  const tcp::endpoint endpoint(address, options.port);
  auto fail = [&](std::string_view step) {
    return gpu::make_error(gpu::error_kind::internal,
                           fmt::format("cannot {} {}:{}: {}", step, options.address, options.port, ec.message()));
  };
  if (p->acceptor.open(endpoint.protocol(), ec); ec) return fail("open");
  if (p->acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return fail("configure");
  if (p->acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (p->acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  p->accept();
  return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

http_server::http_server(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
http_server::~http_server() {
  close();
}

unsigned short http_server::local_port() const {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void http_server::close() {
  beast::error_code ignored;
  if (impl_->acceptor.is_open()) impl_->acceptor.close(ignored);
}

bool is_loopback_address(const std::string& address) {
  if (address == "localhost") return true;
  beast::error_code ec;
  const auto parsed = asio::ip::make_address(address, ec);
  return !ec && parsed.is_loopback();
}

}  // namespace gpusoak::harness
