#!/usr/bin/env bash
# Session 9 (2026-11-24), H100 80GB HBM3, driver 580.159.04, at e8eff04 (winograd in one
# dispatch for small inputs). Here: ninja -C build && bench/gpu-run --pack; device (carry .gpu):
source .gpu/env.sh; time bench/gpu-run --run
