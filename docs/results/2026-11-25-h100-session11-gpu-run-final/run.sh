#!/usr/bin/env bash
# Session 11 (2026-11-25): the whole bench/gpu-run on the H100 at 14edb0f (winograd_store_tile shared
# by both Winograd output paths; targets.py judging the stream against the fastest pinned copy).
source .gpu/env.sh; bench/gpu-run --run
