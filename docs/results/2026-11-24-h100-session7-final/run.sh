#!/usr/bin/env bash
# Session 7, the last device call, at 89e4556 (every change of the session): the whole run.
# Here: ninja -C build; bench/gpu-run --pack. Device: source .gpu/env.sh; bench/gpu-run --run
source .gpu/env.sh
bench/gpu-run --run
