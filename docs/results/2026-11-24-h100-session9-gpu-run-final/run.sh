#!/usr/bin/env bash
# Session 9 (2026-11-24), H100 80GB HBM3, driver 580.159.04, at 6ba07e6 (code as f852aee: the
# one-dispatch winograd, and pick(shape, discrete)). Here: ninja -C build && bench/gpu-run --pack;
# device (carry .gpu):
source .gpu/env.sh; date -u; time bench/gpu-run --run
