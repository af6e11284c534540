#include "gpusoak/harness/cli_args.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "gpusoak/harness/exit_codes.hpp"

namespace gpusoak::harness {
namespace {

std::string allowed(std::span<const flag_spec> specs) {
  std::string names = "--help";
  for (const auto& spec : specs) names += ", --" + spec.name;
  return names;
}

}  // namespace

result<cli_args> cli_args::parse(std::span<const std::string> args, std::span<const flag_spec> specs,
                                 std::size_t max_positional) {
  cli_args parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help_ = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      if (parsed.positional_.size() < max_positional) {
        parsed.positional_.push_back(arg);
        continue;
      }
      return make_error(error_kind::validation,
                        fmt::format("unexpected argument '{}'; flags: {}", arg, allowed(specs)));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const auto spec = std::ranges::find(specs, name, &flag_spec::name);
    if (spec == specs.end()) {
      return make_error(error_kind::validation, fmt::format("unknown flag '--{}'; flags: {}", name, allowed(specs)));
    }
    if (spec->value_name.empty()) {
      if (inline_value) {
        return make_error(error_kind::validation, fmt::format("--{} takes no value", name));
      }
      parsed.values_[name] = "";
      parsed.all_values_[name].push_back("");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return make_error(error_kind::validation, fmt::format("--{} needs a value ({})", name, spec->value_name));
      }
      inline_value = args[++i];
    }
    parsed.values_[name] = *inline_value;
    parsed.all_values_[name].push_back(*inline_value);
  }
  return parsed;
}

bool cli_args::has(std::string_view name) const {
  return values_.find(name) != values_.end();
}

std::optional<std::string> cli_args::value(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> cli_args::values(std::string_view name) const {
  if (auto it = all_values_.find(name); it != all_values_.end()) return it->second;
  return {};
}

std::string usage_text(std::string_view command, std::string_view summary, std::span<const flag_spec> specs,
                       std::string_view program) {
  std::string text =
      fmt::format("Usage: {}{}{} [flags]\n\n{}\n\nFlags:\n", program, command.empty() ? "" : " ", command, summary);
  for (const auto& spec : specs) {
    const std::string left = spec.value_name.empty() ? "--" + spec.name : "--" + spec.name + " " + spec.value_name;
    text += fmt::format("  {:<24} {}\n", left, spec.help);
  }
  text += fmt::format("  {:<24} {}\n", "--help", "show this help");
  return text;
}

namespace {

// The words of a usage line that name the command ("bench upload" of "bench upload", "gate" of
// "gate RUN_ID"): those before the first placeholder (upper case), option ("-") or optional ("[").
std::string_view command_words(std::string_view usage) {
  std::size_t end = 0;
  while (end < usage.size()) {
    const char c = usage[end];
    if ((c >= 'A' && c <= 'Z') || c == '-' || c == '[') break;
    const auto space = usage.find(' ', end);
    end = space == std::string_view::npos ? usage.size() : space + 1;
  }
  while (end > 0 && usage[end - 1] == ' ') --end;
  return usage.substr(0, end);
}

}  // namespace

std::expected<cli_args, int> parse_command_line(const command_syntax& syntax, std::span<const std::string> args,
                                                std::ostream& out, std::ostream& err) {
  const std::string_view command = command_words(syntax.usage);
  const std::string who = command.empty() ? std::string(syntax.program) : fmt::format("{} {}", syntax.program, command);
  auto parsed = cli_args::parse(args, syntax.flags, syntax.max_positional);
  if (!parsed) {
    err << who << ": " << parsed.error().message << "\n";
    return std::unexpected(exit_could_not_run);
  }
  if (parsed->help()) {
    out << usage_text(syntax.usage, syntax.summary, syntax.flags, syntax.program);
    return std::unexpected(exit_pass);
  }
  if (parsed->positional().size() < syntax.required_positional) {
    const std::string_view placeholders = syntax.usage.substr(std::min(syntax.usage.size(), command.size() + 1));
    err << fmt::format("{}: missing {} (usage: {} {} [flags]; --help lists them)\n", who, placeholders, syntax.program,
                       syntax.usage);
    return std::unexpected(exit_could_not_run);
  }
  return std::move(*parsed);
}

}  // namespace gpusoak::harness
