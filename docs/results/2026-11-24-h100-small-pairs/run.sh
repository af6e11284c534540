#!/usr/bin/env bash
# Session 7, at 89e4556: the two small shapes against PyTorch, eight pairs in a row (ours 200
# batches, then the reference 200 trials), to put a median on a ratio whose parts move 2x
# between device calls. Here: bench/gpu-run --pack; device: this script.
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
{
  date -u; cat /proc/loadavg
  for r in 1 2 3 4 5 6 7 8; do
    echo "== pair $r"
    gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"
    python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
  done
} >"$OUT/pairs.txt"
