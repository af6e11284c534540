// conv2d shapes come from plan parameters and `gpusoak bench conv2d --shape`. Properties: no crash;
// a shape that parses reads back from its canonical text; and it really fits the shaders' 32-bit
// signed indexing (the counts are recomputed here in 128 bits, so a count that wrapped around 64
// bits cannot pass as small).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gpusoak::kernels;
  using wide = unsigned __int128;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto shape = parse_conv2d_shape(text);
  if (!shape) {
    return 0;
  }
  const std::string canonical = shape->to_string();
  const auto again = parse_conv2d_shape(canonical);
  GPUSOAK_FUZZ_CHECK(again && *again == *shape, "'%s' does not read back", canonical.c_str());

  constexpr wide limit = std::numeric_limits<std::int32_t>::max();
  const wide input = wide{shape->n} * shape->c * shape->h * shape->w;
  const wide weights = wide{shape->k} * (shape->c / shape->groups) * shape->r * shape->s;
  const wide output = wide{shape->n} * shape->k * shape->p() * shape->q();
  GPUSOAK_FUZZ_CHECK(input <= limit && weights <= limit && output <= limit, "'%s' passed with too many elements",
                     canonical.c_str());
  GPUSOAK_FUZZ_CHECK(shape->flops() >= 0, "negative flops");
  return 0;
}
