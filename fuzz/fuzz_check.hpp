// The one check the harnesses share: a broken property is a crash libFuzzer records, with the
// input that broke it and what broke.
#pragma once

#include <cstdio>
#include <cstdlib>

#define GPUSOAK_FUZZ_CHECK(cond, ...)                         \
  do {                                                        \
    if (!(cond)) {                                            \
      std::fprintf(stderr, "fuzz check failed: %s: ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                      \
      std::fprintf(stderr, "\n");                             \
      std::abort();                                           \
    }                                                         \
  } while (0)
