#!/usr/bin/env bash
# Session 11, experiment A (8cca579 + read-variant-knobs.patch): can a different read shader read
# the mapping faster than 50.4-50.9 GB/s? 64 MiB, 16 writers, coherent; variants interleaved over
# three rounds with the PCIe limit each round. Columns: GB/s pipe read pread.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11a.txt
one() { echo "-- $*"; env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent --producer-threads 16 2>&1 | grep -E "^.persistent_coherent +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -E "^ +67108864"
  one A=base
  one GPUSOAK_EXP_GROUPS=528
  one GPUSOAK_EXP_GROUPS=2112
  one GPUSOAK_EXP_GROUPS=8448
  one GPUSOAK_EXP_LS=1024 GPUSOAK_EXP_GROUPS=264
  one GPUSOAK_EXP_LS=64 GPUSOAK_EXP_GROUPS=4224
  one GPUSOAK_EXP_READ=UNROLL4
  one GPUSOAK_EXP_READ=UNROLL4 GPUSOAK_EXP_GROUPS=264
  one GPUSOAK_EXP_READ=PAIR
  one GPUSOAK_EXP_READ=BLOCK
  one GPUSOAK_EXP_READ=BLOCK GPUSOAK_EXP_GROUPS=132
  one GPUSOAK_EXP_READ=TBO
done
date -u
} > $log 2>&1
cat $log
