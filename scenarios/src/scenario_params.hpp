// Private: how a scenario reads its parameters. One reader per scenario entry records every
// problem (unknown names, wrong types, bad units, out-of-range values) and hands back the default
// in place of a bad value, so one pass over a scenario's params finds all of its problems. The
// same pass serves plan loading (check_scenario_params, no GL context) and make_scenario.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::scenarios::detail {

class param_reader {
 public:
  explicit param_reader(const scenario_params& params) : params_(params) {}

  // Records a problem for each name in params that is not in allowed; each factory calls it first.
  void allow(std::initializer_list<std::string_view> allowed);

  // Each reader returns `fallback` when the param is absent, and also when it is bad (the
  // problem is recorded).
  std::uint64_t bytes(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max);
  std::uint64_t count(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max);
  std::string choice(std::string_view name, std::string_view fallback, std::initializer_list<std::string_view> choices);
  std::chrono::microseconds duration(std::string_view name, std::chrono::microseconds fallback,
                                     std::chrono::microseconds min, std::chrono::microseconds max);
  // A list (or a single scalar) of text items, at most max_items of them.
  std::vector<std::string> list(std::string_view name, std::vector<std::string> fallback, std::size_t max_items);

  // Records a problem with a param that is present; what says what is wrong and what to use.
  void problem(std::string_view name, std::string what);
  // Records "'VALUE' is not allowed; use ALLOWED" for a present param.
  void not_allowed(std::string_view name, std::string_view allowed);

  [[nodiscard]] const std::vector<param_problem>& problems() const noexcept { return problems_; }

 private:
  const param_value* find(std::string_view name) const;
  // The value's only item, or nullptr (problem recorded) when it is a list.
  const std::string* scalar(std::string_view name, std::string_view allowed);

  const scenario_params& params_;
  std::vector<param_problem> problems_;
};

}  // namespace gpusoak::scenarios::detail
