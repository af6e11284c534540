// Command-line flags of one subcommand: declared up front so --help and errors list them.
#pragma once

#include <expected>
#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"

namespace gpusoak::harness {

struct flag_spec {
  std::string name;        // without dashes: "json"
  std::string value_name;  // "" for a boolean switch, else shown in help: "FILE"
  std::string help;
};

class cli_args {
 public:
  // Parses "--name value", "--name=value" and switches. An unknown flag, a missing value or a
  // stray positional argument is a validation error naming it; "--help" sets help(). Up to
  // max_positional arguments that are not flags are kept, in order, in positional(); one more is
  // an error. A flag given more than once keeps every value (values()); value() is the last.
  [[nodiscard]] static result<cli_args> parse(std::span<const std::string> args, std::span<const flag_spec> specs,
                                              std::size_t max_positional = 0);

  [[nodiscard]] bool help() const noexcept { return help_; }
  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
  // Every value given for the flag, in command-line order (empty when absent).
  [[nodiscard]] std::vector<std::string> values(std::string_view name) const;
  [[nodiscard]] const std::vector<std::string>& positional() const noexcept { return positional_; }

 private:
  bool help_ = false;
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::vector<std::string>, std::less<>> all_values_;
  std::vector<std::string> positional_;
};

// "Usage: gpusoak <command> [flags]" plus one line per flag; `program` names another program
// (gpusoakd, whose command is empty).
[[nodiscard]] std::string usage_text(std::string_view command, std::string_view summary,
                                     std::span<const flag_spec> specs, std::string_view program = "gpusoak");

// What a command declares for the preamble every command shares (parse_command_line).
struct command_syntax {
  std::string_view usage;    // after the program name: "gate RUN_ID", "bench upload"; "" for gpusoakd
  std::string_view summary;  // --help's text
  std::span<const flag_spec> flags;
  std::size_t required_positional = 0;  // that many must be given; usage names them
  std::size_t max_positional = 0;
  std::string_view program = "gpusoak";
};

// The preamble every command shares: parses `args`; --help prints usage_text to `out`; a bad flag
// or a missing positional argument prints "gpusoak gate: <what>" to `err`. Returns the arguments,
// or the exit code to return at once: exit_pass after --help, exit_could_not_run after an error.
[[nodiscard]] std::expected<cli_args, int> parse_command_line(const command_syntax& syntax,
                                                              std::span<const std::string> args, std::ostream& out,
                                                              std::ostream& err);

}  // namespace gpusoak::harness
