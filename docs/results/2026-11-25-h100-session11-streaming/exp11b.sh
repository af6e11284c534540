#!/usr/bin/env bash
# Session 11, experiment B (8cca579 + cldemote-knob.patch): do the cached writers' lines, left in
# their cores' L2 (16 x 2 MB against a 64 MiB upload), slow the GPU's reads? cldemote each line
# GPUSOAK_EXP_DEMOTE lines behind the store. 64 MiB, 16 and 8 writers, three rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11b.txt
one() { echo "-- $*"; env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $W 2>&1 | grep -E "^.persistent_(coherent|flush) +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -E "^ +67108864"
  for W in 16 8; do
    export W; echo "== writers $W"
    one A=base
    one GPUSOAK_EXP_DEMOTE=0
    one GPUSOAK_EXP_DEMOTE=8
    one GPUSOAK_EXP_DEMOTE=32
  done
done
date -u
} > $log 2>&1
cat $log
