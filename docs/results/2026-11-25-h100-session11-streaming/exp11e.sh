#!/usr/bin/env bash
# Session 11, experiment E (14edb0f + timestamp-knob.patch): where do the last 3-5% between the
# GPU's read rate inside the pipeline (pread) and the stream (pipe) go? GL timestamps around every
# timed read dispatch of the 64 MiB stream: busy time per dispatch and the gaps between them.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11e.txt
one() { GPUSOAK_EXP_TS=1 gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $1 2>&1 | grep -E "EXP|^.persistent_(coherent|flush) +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "" --trials 20 2>&1 | grep -E "^ +67108864"
  echo "== round $r writers 16"; one 16
  echo "== round $r writers 8"; one 8
done
date -u
} > $log 2>&1
cat $log
