#!/usr/bin/env bash
# Session 11, experiment F (14edb0f + timestamp-knob.patch, same machine as E): do the bench's
# elapsed-time queries around each pipelined read cost the stream? 64 MiB, 16 writers: elapsed
# queries (the bench as is), timestamps (GPUSOAK_EXP_TS), none (GPUSOAK_EXP_NOTIME), interleaved.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11f.txt
one() { echo "-- $*"; env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads 16 2>&1 | grep -E "^.persistent_(coherent|flush) +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3 4; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "" --trials 20 2>&1 | grep -E "^ +67108864"
  one A=elapsed
  one GPUSOAK_EXP_TS=1
  one GPUSOAK_EXP_NOTIME=1
done
date -u
} > $log 2>&1
cat $log
