// Errors of the buffer layer: every fallible call returns result<T>.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace gpusoak::gpu {

enum class error_kind {
  validation,     // the caller asked for something impossible (size 0, range out of bounds)
  unsupported,    // the context lacks what the request needs (extension missing or masked)
  out_of_memory,  // the budget or the driver (GL_OUT_OF_MEMORY) refused; the context stays usable
  context_lost,   // fence wait timed out or failed, context reset: the watchdog's business
  internal,       // a GL call failed in a way the layer does not expect
};

struct buffer_error {
  error_kind kind;
  std::string message;  // names the values involved: "offset 4096 + size 64 exceeds size 4096"
};

template <class T>
using result = std::expected<T, buffer_error>;

[[nodiscard]] std::string_view to_string(error_kind kind) noexcept;

[[nodiscard]] inline std::unexpected<buffer_error> make_error(error_kind kind, std::string message) {
  return std::unexpected(buffer_error{kind, std::move(message)});
}

}  // namespace gpusoak::gpu
