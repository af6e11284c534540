#!/usr/bin/env bash
# Session 10 (2026-11-25): the whole bench/gpu-run on the H100, at c6572ee (cached stores in the pipelined runs, 100 uploads a large stream).
source .gpu/env.sh; bench/gpu-run --run
