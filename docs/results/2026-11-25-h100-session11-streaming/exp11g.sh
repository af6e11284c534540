#!/usr/bin/env bash
# Session 11, experiment G (421a8c1): whole gpu-runs streamed 1-3 points lower than experiment
# calls on fresh machines. Does the work before the stream rounds (conv2d benches, PyTorch's conv
# reference) slow it? The stream twice on the fresh machine, then after the conv2d bench and the
# full reference, then after compacting memory and dropping caches.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11g.txt
stream() {
  for r in 1 2; do
    python3 bench/torch_reference.py --writers "" --shapes "" --trials 20 2>&1 | grep -E "^ +67108864"
    gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads 16 2>&1 | grep -E "^.persistent_(coherent|flush) +64|rror|ismatch"
  done
}
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
grep -E "MemFree|AnonHugePages" /proc/meminfo
echo "== fresh"; stream
echo "== the heavy part: bench conv2d, torch_reference"
gpusoak bench conv2d >/dev/null 2>&1; python3 bench/torch_reference.py >/dev/null 2>&1; date -u
grep -E "MemFree|AnonHugePages" /proc/meminfo; cat /proc/buddyinfo
echo "== after"; stream
sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory; echo "compacted: $?"
cat /proc/buddyinfo
echo "== after compaction"; stream
date -u
} > $log 2>&1
cat $log
