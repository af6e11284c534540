// The conv2d benchmark's check for shapes too large for the whole CPU reference: sampled output
// points in double, within an error bound from the reduction length.
#pragma once

#include <cstdint>
#include <span>

#include "gpusoak/kernels/conv2d_shape.hpp"

namespace gpusoak::bench::detail {

// What the bench's producer writes for `seed`: the input of a batch, or the weights (seed
// 0x5eed) and bias (0xb1a5) every session gets. Values in [-0.5, 0.5), never all zeros.
void produce_values(std::span<float> out, std::uint32_t seed);

// The worst |out - ref| / scale over sampled_check_points output points of the batch produced
// from `seed` with the bench's weights and bias (the first and last element always among them,
// the rest drawn from the seed), ref and scale from kernels::conv2d_reference_at in double.
// Infinite when a sampled output is not finite, or a point with no terms is not exactly 0.
[[nodiscard]] double sampled_error(const kernels::conv2d_shape& shape, std::uint32_t seed, std::span<const float> out);

}  // namespace gpusoak::bench::detail
