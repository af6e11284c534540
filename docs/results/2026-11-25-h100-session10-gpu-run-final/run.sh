#!/usr/bin/env bash
# Session 10 (2026-11-25): the whole bench/gpu-run on the H100, at c6572ee with the writer sweep 3 4 8 12 (this commit's bench/gpu-run).
source .gpu/env.sh; bench/gpu-run --run
