// The one error type of gpusoak: every fallible call in buffers/, kernels/, scenarios/ and
// harness/ returns result<T>, whose error has a kind callers branch on and a message for people.
// Callers decide by kind, never by the message text. The buffer layer uses validation,
// unsupported, out_of_memory, context_lost and internal (gpu::buffer_error is this type).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace gpusoak {

enum class error_kind {
  validation,     // the input is wrong (a plan, a flag, a request, a size 0, a range out of bounds)
  not_found,      // what was named does not exist (a run id, a plan name, a file)
  conflict,       // the request contradicts the current state (a run already running, finished, busy)
  unsupported,    // the context or the build lacks what the request needs (extension missing or masked)
  out_of_memory,  // the budget or the driver (GL_OUT_OF_MEMORY) refused; the context stays usable
  out_of_space,   // a write failed for lack of disk space, quota or file size limit; reads still work
  context_lost,   // fence wait timed out or failed, context reset: the watchdog's business
  unavailable,    // cannot take the request now, may later (the daemon is shutting down)
  io,             // a file, database or network operation failed (unreadable, corrupt, unreachable)
  internal,       // a call failed in a way the code does not expect (a bug, or a GL call gone wrong)
};

struct error {
  error_kind kind = error_kind::internal;
  std::string message;  // names the values involved: "offset 4096 + size 64 exceeds size 4096"
};

template <class T>
using result = std::expected<T, error>;

[[nodiscard]] constexpr std::string_view to_string(error_kind kind) noexcept {
  switch (kind) {
    case error_kind::validation: return "validation";
    case error_kind::not_found: return "not_found";
    case error_kind::conflict: return "conflict";
    case error_kind::unsupported: return "unsupported";
    case error_kind::out_of_memory: return "out_of_memory";
    case error_kind::out_of_space: return "out_of_space";
    case error_kind::context_lost: return "context_lost";
    case error_kind::unavailable: return "unavailable";
    case error_kind::io: return "io";
    case error_kind::internal: return "internal";
  }
  return "?";
}

[[nodiscard]] inline std::unexpected<error> make_error(error_kind kind, std::string message) {
  return std::unexpected(error{kind, std::move(message)});
}

// The same error with `context` before its message ("run store 'x': " + message); the kind stays.
[[nodiscard]] inline std::unexpected<error> with_context(error e, std::string_view context) {
  e.message.insert(0, context);
  return std::unexpected(std::move(e));
}

}  // namespace gpusoak

// Propagation in the manner of Dawn's DAWN_TRY. In a function returning result<U>:
//   GPUSOAK_TRY(expr);                          expr is a result<T>: on error, return that error
//   GPUSOAK_TRY_ASSIGN(auto stmt, expr);        declare stmt = the value, or return the error
//   GPUSOAK_TRY_ASSIGN(existing, expr);         assign the value to an existing variable
// GPUSOAK_TRY_ASSIGN is several statements: give it braces under an if or a loop.
#define GPUSOAK_TRY(expr)                                             \
  do {                                                                \
    if (auto gpusoak_try_result_ = (expr); !gpusoak_try_result_)      \
      return std::unexpected(std::move(gpusoak_try_result_).error()); \
  } while (false)

#define GPUSOAK_TRY_CONCAT_(a, b) a##b
#define GPUSOAK_TRY_NAME_(line) GPUSOAK_TRY_CONCAT_(gpusoak_try_value_, line)
#define GPUSOAK_TRY_ASSIGN(target, expr) GPUSOAK_TRY_ASSIGN_IMPL_(target, expr, GPUSOAK_TRY_NAME_(__COUNTER__))
#define GPUSOAK_TRY_ASSIGN_IMPL_(target, expr, tmp)         \
  auto tmp = (expr);                                        \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  target = std::move(*tmp)
