#!/usr/bin/env bash
# Session 11, experiment D (copy_probe.cpp): GL copies from a persistent mapping into VRAM on the
# main context against copies issued on shared contexts on their own threads (a copy engine?),
# beside the read shader, and the PCIe limit; two rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11d.txt
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "" --trials 20 2>&1 | grep -E "^ +67108864"
  echo "== round $r copy_probe"; copy_probe 2>&1 | grep -v '^\[20'
done
date -u
} > $log 2>&1
cat $log
