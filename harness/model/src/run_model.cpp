#include "gpusoak/harness/run_model.hpp"

#include <fmt/format.h>

#include "gpusoak/harness/exit_codes.hpp"

namespace gpusoak::harness {
namespace {

// In enum order: the names the store writes, the API returns and the metrics label.
constexpr std::array run_state_names{"queued",        "running", "passed",     "failed",
                                     "could_not_run", "aborted", "interrupted"};
static_assert(run_state_names.size() == all_run_states.size());
constexpr std::array phase_state_names{"running", "passed", "failed", "aborted", "interrupted"};
constexpr std::array strategy_subject_names{"usage", "scenario"};

template <class Enum, std::size_t N>
result<Enum> parse_enum(std::string_view text, const std::array<const char*, N>& names, std::string_view what) {
  for (std::size_t i = 0; i < N; ++i)
    if (text == names[i]) return static_cast<Enum>(i);
  std::string allowed;
  for (const char* name : names) allowed += fmt::format("{}{}", allowed.empty() ? "" : ", ", name);
  return make_error(error_kind::validation, fmt::format("unknown {} '{}'; allowed: {}", what, text, allowed));
}

}  // namespace

timestamp now_timestamp() noexcept {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::string_view to_string(run_state state) noexcept {
  return run_state_names[static_cast<std::size_t>(state)];
}
result<run_state> parse_run_state(std::string_view text) {
  return parse_enum<run_state>(text, run_state_names, "run state");
}
bool is_final(run_state state) noexcept {
  return state == run_state::passed || state == run_state::failed || state == run_state::could_not_run ||
         state == run_state::aborted;
}
int exit_code_for(run_state state) noexcept {
  switch (state) {
    case run_state::passed: return exit_pass;
    case run_state::failed: return exit_fail;
    case run_state::aborted: return exit_aborted;
    default: return exit_could_not_run;
  }
}

std::string_view to_string(phase_state state) noexcept {
  return phase_state_names[static_cast<std::size_t>(state)];
}
result<phase_state> parse_phase_state(std::string_view text) {
  return parse_enum<phase_state>(text, phase_state_names, "phase state");
}

std::string_view to_string(strategy_subject subject) noexcept {
  return strategy_subject_names[static_cast<std::size_t>(subject)];
}
result<strategy_subject> parse_strategy_subject(std::string_view text) {
  return parse_enum<strategy_subject>(text, strategy_subject_names, "strategy subject");
}

}  // namespace gpusoak::harness
