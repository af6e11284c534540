// GLSL sources of kernels/shaders/, embedded at build time (cmake/embed_text.cmake writes the
// definitions into the build tree; a changed shader file regenerates them).
#pragma once

#include <string_view>

namespace gpusoak::kernels::detail {

extern const std::string_view conv2d_common_glsl;  // buffer bindings and uniforms of every kernel
extern const std::string_view conv2d_direct_comp;
extern const std::string_view conv2d_tiled_comp;
extern const std::string_view conv2d_gemm_comp;
extern const std::string_view conv2d_winograd_comp;
extern const std::string_view conv2d_winograd_one_dispatch_comp;
extern const std::string_view conv2d_bus_copy_comp;

}  // namespace gpusoak::kernels::detail
