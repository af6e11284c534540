// Private: one factory per scenario, each validating its own params (see make_scenario).
#pragma once

#include <cstdint>
#include <memory>

#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::scenarios::detail {

using made = gpu::result<std::unique_ptr<scenario>>;
[[nodiscard]] made make_conv2d_steady(const scenario_params& params, std::uint64_t seed);
[[nodiscard]] made make_fragmentation(const scenario_params& params, std::uint64_t seed);
[[nodiscard]] made make_oom(const scenario_params& params, std::uint64_t seed);
[[nodiscard]] made make_leak_cycle(const scenario_params& params, std::uint64_t seed);
[[nodiscard]] made make_memory_pressure(const scenario_params& params, std::uint64_t seed);
[[nodiscard]] made make_multi_context(const scenario_params& params, std::uint64_t seed);

}  // namespace gpusoak::scenarios::detail
