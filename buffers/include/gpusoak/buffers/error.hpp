// Errors of the buffer layer: every fallible call returns result<T>. The type is gpusoak's one
// error type (gpusoak/error.hpp); the layer's calls use the kinds validation, unsupported,
// out_of_memory, context_lost and internal.
#pragma once

#include "gpusoak/error.hpp"

namespace gpusoak::gpu {

using gpusoak::error_kind;
using gpusoak::make_error;
using gpusoak::to_string;
using buffer_error = gpusoak::error;
template <class T>
using result = gpusoak::result<T>;

}  // namespace gpusoak::gpu
