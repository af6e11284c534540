// Plans shared by the tests that start real gpusoakd runs (daemon_test, fleet_test).
#pragma once

namespace gpusoak::test {

// Two short phases sampled every 100 ms: long enough to interrupt, short enough for CI.
inline constexpr const char* short_plan = R"(name: short
devices: [0]
sample_interval: 100ms
phases:
  - name: conv
    duration: 3s
    scenarios:
      - name: conv2d_steady
        params: {shapes: ["N1 C3 16x16 K8 3x3 p1"]}
  - name: frag
    duration: 3s
    scenarios:
      - name: fragmentation
        params: {pool_chunk: 8MiB, max_block: 256KiB}
thresholds:
  - "integrity_failures_total == 0"
  - "scenario_failures_total == 0"
  - "copies_total{path=\"hot\"} == 0"
)";

}  // namespace gpusoak::test
