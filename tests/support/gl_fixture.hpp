// Real GL contexts for tests (Mesa llvmpipe through EGL in CI).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "gpusoak/buffers/context.hpp"

namespace gpusoak::test {

// A context on the calling thread; fails the test (fatally) when none can be had.
inline std::unique_ptr<gpu::context> make_context(gpu::context_options options = {}) {
  auto made = gpu::context::create(options);
  if (!made) {
    ADD_FAILURE() << "no GL context: " << made.error().message;
    return nullptr;
  }
  return std::move(*made);
}

}  // namespace gpusoak::test
