#include "gpusoak/harness/cli_args.hpp"

#include <fmt/format.h>

#include <algorithm>

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

}  // namespace gpusoak::harness
