// Private: one factory per scenario. Each reads its params through `in`, which records every
// problem and gives defaults in place of bad values, and builds the scenario without touching GL
// (setup does); make_scenario and check_scenario_params look at in's problems (scenario.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include "gpusoak/scenarios/scenario.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

[[nodiscard]] std::unique_ptr<scenario> make_conv2d_steady(param_reader& in, std::uint64_t seed);
[[nodiscard]] std::unique_ptr<scenario> make_fragmentation(param_reader& in, std::uint64_t seed);
[[nodiscard]] std::unique_ptr<scenario> make_oom(param_reader& in, std::uint64_t seed);
[[nodiscard]] std::unique_ptr<scenario> make_leak_cycle(param_reader& in, std::uint64_t seed);
[[nodiscard]] std::unique_ptr<scenario> make_memory_pressure(param_reader& in, std::uint64_t seed);
[[nodiscard]] std::unique_ptr<scenario> make_multi_context(param_reader& in, std::uint64_t seed);

}  // namespace gpusoak::scenarios::detail
