#!/usr/bin/env bash
# Session 8 (2026-11-24), H100 80GB HBM3, driver 580.159.04, at 24b1c5d (the fused winograd input).
# Here: ninja -C build && bench/gpu-run --pack; device (carry .gpu):
source .gpu/env.sh && date -u && time bench/gpu-run --run
