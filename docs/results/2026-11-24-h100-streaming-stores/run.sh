#!/usr/bin/env bash
# Session 7: the upload producer with streaming stores (3e5c438). knob-streaming.txt is the
# experiment before it (an X_NT switch in producer.cpp choosing the same loop, not committed):
# 4/16/64 MiB, persistent paths, 1 and 16 threads, plain vs streaming, twice. This script, at
# 3e5c438: the whole upload bench (every path and size: the matrix's pick against the best) with
# 1 and 16 producer threads, then PyTorch's PCIe limit. Here: bench/gpu-run --pack; device: this.
source .gpu/env.sh
json=$(mktemp -d)
{
  date -u; cat /proc/loadavg
  gpusoak bench upload --json "$json/upload.json"
  gpusoak bench upload --sizes 4MiB,16MiB,64MiB --producer-threads 16 --json "$json/upload-threads.json"
  python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" --json "$json/reference.json"
} >"$OUT/tables.txt" 2>"$OUT/run.log"
tar -czf "$OUT/json.tar.gz" -C "$json" .
