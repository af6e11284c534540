#include "gpusoak/harness/http_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iterator>

namespace gpusoak::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What a request's head may hold. Bytes are bounded by the parser (431 past them); the count too,
// because many tiny fields cost more to store than their bytes suggest.
constexpr std::size_t header_limit_bytes = 16 * 1024;
constexpr std::size_t header_field_limit = 100;

// What was wrong with a request the parser refused, and how to send it right.
std::string describe_parse_error(beast::error_code ec) {
  if (ec == http::error::bad_line_ending) return "lines must end with CRLF";
  if (ec == http::error::bad_method) return "the request line must start with a method: 'GET /healthz HTTP/1.1'";
  if (ec == http::error::bad_target) {
    return "the request target must start with '/' and hold no spaces or control characters: "
           "'GET /healthz HTTP/1.1'";
  }
  if (ec == http::error::bad_version) return "the version must be HTTP/1.1 or HTTP/1.0: 'GET /healthz HTTP/1.1'";
  if (ec == http::error::bad_field) return "a header line needs a name and a colon: 'Host: 127.0.0.1'";
  if (ec == http::error::bad_value) return "a header value holds control characters";
  if (ec == http::error::bad_obs_fold) return "a header line is folded onto the next; send each on one line";
  if (ec == http::error::bad_content_length) {
    return "Content-Length must be one byte count in decimal digits, given once";
  }
  if (ec == http::error::bad_transfer_encoding) {
    return "Transfer-Encoding must end in 'chunked' and comes without Content-Length";
  }
  if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
    return "the chunked body is malformed: each chunk is its size in hex, CRLF, the bytes, CRLF; '0' CRLF CRLF ends "
           "it";
  }
  if (ec == http::error::partial_message) return "the connection ended before the whole request arrived";
  return ec.message();
}

// A parsed request whose framing the server will not guess at, answered with the reason: a
// Transfer-Encoding that does not end in chunked (its body length is unknowable, and what follows
// would be read as a next request: request smuggling; RFC 9112 6.3 says 400 and close), an
// HTTP/1.1 request without Host (RFC 9112 3.2: 400), or too many header fields (431).
// `local` is the address the request reached ("127.0.0.1:9464"), for the example Host header.
std::optional<http_response> refuse_framing(const http_request& request, std::string_view local) {
  if (request.find(http::field::transfer_encoding) != request.end() && !request.chunked()) {
    return error_response(400,
                          "malformed HTTP request: Transfer-Encoding must end in 'chunked'; or send the body "
                          "with Content-Length");
  }
  if (request.version() == 11 && request.find(http::field::host) == request.end()) {
    return error_response(400, fmt::format("an HTTP/1.1 request needs a Host header: 'Host: {}'", local));
  }
  if (const auto fields = static_cast<std::size_t>(std::distance(request.begin(), request.end()));
      fields > header_field_limit) {
    return error_response(
        431, fmt::format("the request has {} header fields; at most {} are accepted", fields, header_field_limit));
  }
  return std::nullopt;
}

// One connection: read a request (under a deadline), answer, repeat while keep-alive.
//
// The read deadline is a timer of ours, not the stream's own expiry: the stream's closes the socket
// when it fires, which leaves nothing to answer with, and a client that sent part of a request
// (a slowloris, a body shorter than its Content-Length) is owed a 408 that says why it was cut.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, const http_server_options& options, std::shared_ptr<http_handler> handler)
      : stream_(std::move(socket)),
        deadline_(stream_.get_executor()),
        options_(options),
        handler_(std::move(handler)) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.body_limit);
    parser_->header_limit(header_limit_bytes);
    stream_.expires_never();  // the write's deadline must not carry over to the read
    reading_ = true;
    timed_out_ = false;
    deadline_.expires_after(options_.request_timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->reading_) return;  // cancelled, or the request arrived as the timer fired
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);  // on_read sees operation_aborted
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    reading_ = false;
    deadline_.cancel();
    if (timed_out_) {
      // An idle keep-alive connection just closes; a started request gets told.
      if (parser_->got_some() || buffer_.size() > 0) {
        answer_early(error_response(
            408, fmt::format("the request was not received whole within {} ms; send it at once (connection closed)",
                             options_.request_timeout.count())));
      } else {
        close();
      }
      return;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
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
      answer_early(error_response(400, fmt::format("malformed HTTP request: {}", describe_parse_error(ec))));
      return;
    }
    auto request = parser_->release();
    if (auto refusal = refuse_framing(request, local_address())) {
      answer_early(std::move(*refusal));
      return;
    }
    http_response response;
    try {
      response = (*handler_)(request);
    } catch (const std::exception& e) {
      response = error_response(500, fmt::format("internal error: {}", e.what()), request.version());
      if (options_.on_own_answer) options_.on_own_answer(500);
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

  // An answer before the whole request was read (400, 408, 413, 431), or to one whose framing is in
  // doubt: the client may still be sending. Closing a socket with unread data makes the kernel send RST, which can
  // destroy the answer before the client reads it (it then sees "broken pipe" or "connection reset", not the 413; seen
  // in daemon_test's 2 MiB body on an idle machine). So after the answer: stop sending, and read and drop what still
  // arrives for at most a second ("lingering close"), then close.
  void answer_early(http_response response) {
    if (options_.on_own_answer) options_.on_own_answer(response.result_int());
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

  // The address and port this connection reached, as a client would write it in Host.
  std::string local_address() {
    beast::error_code ec;
    const auto endpoint = stream_.socket().local_endpoint(ec);
    if (ec) return "127.0.0.1:9464";
    const auto address = endpoint.address();
    return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                           : fmt::format("{}:{}", address.to_string(), endpoint.port());
  }

  void close() {
    deadline_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  asio::steady_timer deadline_;  // the request read's deadline
  bool reading_ = false;         // a request read is outstanding
  bool timed_out_ = false;       // the deadline cancelled it
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

result<std::unique_ptr<http_server>> http_server::start(asio::io_context& io, const http_server_options& options,
                                                        http_handler handler) {
  beast::error_code ec;
  const std::string host = options.address == "localhost" ? "127.0.0.1" : options.address;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return make_error(
        error_kind::validation,
        fmt::format("listen address '{}' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)", options.address));
  }
  auto p = std::make_shared<impl>(io, options, std::move(handler));
  const tcp::endpoint endpoint(address, options.port);
  auto fail = [&](std::string_view step) {
    return make_error(error_kind::internal,
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
