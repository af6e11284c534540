// conv2d shapes from text, run: a shape that parses and is small enough to run in milliseconds
// runs on the automatic pick and on every kernel that accepts it, with whole-number data seeded
// from the input, and must match the float64 reference exactly (tests/kernels/conv2d_run_check.hpp
// says why exactly). A kernel that refuses must say why, and the pick must be a kernel that accepts
// the shape. One GL context (llvmpipe in CI) serves every input.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "conv2d_run_check.hpp"
#include "fuzz_check.hpp"
#include "gpusoak/buffers/context.hpp"
#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"

namespace {

using namespace gpusoak;

struct gl {
  std::unique_ptr<gpu::context> ctx;
  std::shared_ptr<const kernels::conv2d_kernels> kernels;
};

gl& the_gl() {
  static gl made = [] {
    gl g;
    auto ctx = gpu::context::create({});
    GPUSOAK_FUZZ_CHECK(ctx.has_value(), "no GL context: %s", ctx ? "" : ctx.error().message.c_str());
    g.ctx = std::move(*ctx);
    auto programs = kernels::conv2d_kernels::create(*g.ctx);
    GPUSOAK_FUZZ_CHECK(programs.has_value(), "kernels: %s", programs ? "" : programs.error().message.c_str());
    g.kernels = std::move(*programs);
    return g;
  }();
  return made;
}

// Small enough to run every kernel in a few milliseconds on llvmpipe.
bool small(const kernels::conv2d_shape& s) {
  return s.input_elements() <= (1u << 14) && s.weight_elements() <= (1u << 14) && s.output_elements() <= (1u << 12) &&
         s.flops() <= 4e6;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gpusoak::kernels;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto shape = parse_conv2d_shape(text);
  if (!shape || !small(*shape)) return 0;
  gl& g = the_gl();
  const std::string name = shape->to_string();
  std::mt19937_64 rng(std::hash<std::string_view>{}(text));

  const conv2d_kernel picked = conv2d_kernels::pick(*shape, g.ctx->caps());
  GPUSOAK_FUZZ_CHECK(conv2d_kernels::supports(picked, *shape, g.ctx->caps()).has_value(),
                     "'%s': pick() chose %s, which refuses it", name.c_str(), std::string(to_string(picked)).c_str());
  for (const conv2d_kernel kernel : {conv2d_kernel::automatic, conv2d_kernel::direct, conv2d_kernel::tiled,
                                     conv2d_kernel::gemm, conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
    if (auto refused = conv2d_kernels::supports(kernel, *shape, g.ctx->caps()); !refused) {
      GPUSOAK_FUZZ_CHECK(!refused.error().message.empty(), "'%s': %s refuses without a reason", name.c_str(),
                         std::string(to_string(kernel)).c_str());
      continue;
    }
    const auto path = rng() % 2 == 0 ? conv2d_path::zero_copy : conv2d_path::staging;
    const test::check_outcome o =
        test::run_and_check(*g.ctx, g.kernels, *shape, kernel, path, test::data_kind::whole_numbers, rng);
    GPUSOAK_FUZZ_CHECK(o.ok, "'%s' on %s, %s: %s", name.c_str(), std::string(to_string(kernel)).c_str(),
                       std::string(to_string(path)).c_str(), o.detail.c_str());
  }
  return 0;
}
