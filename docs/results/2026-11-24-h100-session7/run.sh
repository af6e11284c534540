#!/usr/bin/env bash
# Session 7's device call (at the commit named in docs/performance.md, "Session 7"): the small
# shapes three times, each beside PyTorch's reference, then the whole bench/gpu-run.
# Here: bench/gpu-run --pack; device: bash docs/results/2026-11-24-h100-session7/run.sh
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
small=$(mktemp -d)
{
  date -u; cat /proc/loadavg
  for r in 1 2 3; do
    gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 100 --json "$small/small$r.json" 2>&1 |
      grep -A3 "^shape  "
    python3 bench/torch_reference.py --shapes "$S" --trials 100 2>&1 | grep -A3 "cuDNN conv2d"
  done
  gpusoak bench conv2d --shape "$S" --mode pipelined --iterations 300 --json "$small/pipelined.json" 2>&1 | grep -A5 "^shape  "
} >"$OUT/small.txt"
tar -czf "$OUT/small-json.tar.gz" -C "$small" .
bench/gpu-run --run
