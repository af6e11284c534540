#!/usr/bin/env bash
# Session 7: the producers parked between batches (part_pool) instead of started per batch.
# Streaming upload sizes and the large conv2d shapes with 1, 4 and 16 producer threads, then
# PyTorch's references (PCIe limit, cuDNN). Here: bench/gpu-run --pack; device: this script.
source .gpu/env.sh
L="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
json=$(mktemp -d)
{
  date -u; cat /proc/loadavg
  for t in 1 4 16; do
    gpusoak bench upload --sizes 4MiB,16MiB,64MiB --producer-threads $t --json "$json/upload-t$t.json"
  done
  for t in 1 4 16; do
    gpusoak bench conv2d --shape "$L" --path zero-copy --iterations 10 --producer-threads $t --json "$json/conv2d-t$t.json"
  done
  gpusoak bench conv2d --shape "$L" --path staging --mode sync --iterations 10 --json "$json/conv2d-staging.json"
  python3 bench/torch_reference.py --shapes "$L" --json "$json/reference.json"
} >"$OUT/tables.txt" 2>"$OUT/run.log"
tar -czf "$OUT/json.tar.gz" -C "$json" .
grep -c . "$OUT/tables.txt"
