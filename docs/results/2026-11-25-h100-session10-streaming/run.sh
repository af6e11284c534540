#!/usr/bin/env bash
# Session 10 (2026-11-25), H100 host: store kinds inside the streaming pipeline. exp10a-c ran
# store-kind-knobs.patch (here) on dbf0e59: GPUSOAK_EXP_STORE picks the producer's stores,
# GPUSOAK_EXP_PFD the prefetchw distance in lines, GPUSOAK_EXP_ITERS the pipelined uploads of
# large cells (and prints the mean of their read dispatches). exp10d ran c6572ee (the committed
# change, no knobs). Built here, packed with `bench/gpu-run --pack`, run with carry .gpu.
# (c6572ee as run wrote the prefetch as _m_prefetchw, which Clang's headers lack; the commit
# as landed uses __builtin_prefetch(p, 1), the same `prefetchw` instruction with GCC.)

### exp10a.sh
# Session 10, experiment A: store kinds inside the pipeline (GPUSOAK_EXP_STORE, producer.cpp knob):
# 64 MiB, persistent_coherent ring, 16 / 8 / 3 writers, two interleaved rounds; then the PCIe limit
# and CUDA's pipeline with fill_ writers from torch_reference.py.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10a.txt
one() { env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent --producer-threads $W 2>&1 | grep -E "^\*persistent_coherent +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  for W in 16 8 3; do
    export W
    for k in committed stream512 plain512 prefetchw clwb clflushopt movdir64b; do
      echo "== round $r writers $W $k"
      if [ $k = committed ]; then one A=1; else one GPUSOAK_EXP_STORE=$k; fi
    done
  done
done
python3 bench/torch_reference.py --writers "3,16" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -A8 "pinned H2D bytes"
date -u
} > $log 2>&1
cat $log

### exp10b.sh
# Session 10, experiment B: the pipelined column at 64 MiB charges one unoverlapped fill to 10
# iterations. The same cells with 40 (GPUSOAK_EXP_ITERS) and the mean of the GPU's read
# dispatches, committed streaming stores against plain 64-byte stores (with and without prefetchw),
# 16 / 8 / 4 / 3 writers, two interleaved rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10b.txt
one() { env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent --producer-threads $W --trials 20 2>&1 | grep -E "^\*persistent_coherent +64|rror|ismatch|EXP"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  for W in 16 8 4 3; do
    export W
    for k in committed plain512 prefetchw; do
      for it in 10 40; do
        echo "== round $r writers $W $k iters $it"
        if [ $k = committed ]; then one GPUSOAK_EXP_ITERS=$it; else one GPUSOAK_EXP_STORE=$k GPUSOAK_EXP_ITERS=$it; fi
      done
    done
  done
done
echo "== no writer (GPUSOAK_EXP_STORE unset, 1 thread is still a producer)"
python3 bench/torch_reference.py --writers "16" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -A8 "pinned H2D bytes"
date -u
} > $log 2>&1
cat $log

### exp10c.sh
# Session 10, experiment C: plain 64-byte stores with prefetchw at 16/32/64 lines ahead
# (GPUSOAK_EXP_PFD) against plain without prefetch and the committed streaming stores; 64 MiB with
# 40 and 100 pipelined iterations (GPUSOAK_EXP_ITERS), 16 and 12 writers; then 4 and 16 MiB
# prefetchw vs committed with 16 writers; two interleaved rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10c.txt
one() { env "$@" gpusoak bench upload --sizes $S --paths persistent_coherent --producer-threads $W --trials 50 2>&1 | grep -E "^\*persistent_coherent|rror|ismatch|EXP"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  export S=64MiB
  for W in 16 12; do
    export W
    for it in 40 100; do
      echo "== round $r writers $W iters $it committed"; one GPUSOAK_EXP_ITERS=$it
      echo "== round $r writers $W iters $it plain512"; one GPUSOAK_EXP_ITERS=$it GPUSOAK_EXP_STORE=plain512
      for d in 16 32 64; do
        echo "== round $r writers $W iters $it prefetchw $d"; one GPUSOAK_EXP_ITERS=$it GPUSOAK_EXP_STORE=prefetchw GPUSOAK_EXP_PFD=$d
      done
    done
  done
  export W=16
  for S in 4MiB 16MiB; do
    export S
    echo "== round $r writers $W size $S committed"; one A=1
    echo "== round $r writers $W size $S prefetchw 16"; one GPUSOAK_EXP_STORE=prefetchw
  done
done
python3 bench/torch_reference.py --writers "16" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -A8 "pinned H2D bytes"
date -u
} > $log 2>&1
cat $log

### exp10d.sh
# Session 10, experiment D (c6572ee, committed cached-store producer, no knobs): the 64 MiB stream
# with 16 and 12 writers, ring depth 3 and 4, and the PCIe limit, interleaved over five rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10d.txt
one() { gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush "$@" 2>&1 | grep -E "^.persistent_(coherent|flush) +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3 4 5; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -E "^ +67108864"
  echo "== round $r writers 16 depth 3"; one --producer-threads 16
  echo "== round $r writers 12 depth 3"; one --producer-threads 12
  echo "== round $r writers 16 depth 4"; one --producer-threads 16 --depth 4
done
date -u
} > $log 2>&1
cat $log

### exp10e.sh (dab4577: cached stores from 8 writers, streaming below)
# Session 10, experiment E (dab4577: cached stores from 8 writers, streaming below): 64 MiB with
# 1, 4, 8 and 16 writers, then the PCIe limit, two rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10e.txt
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -E "^ +67108864"
  for W in 1 4 8 16; do
    echo "== round $r writers $W"
    gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush,map_write_unmap --producer-threads $W 2>&1 | grep -E "^.(persistent_(coherent|flush)|map_write_unmap) +64|rror|ismatch"
  done
done
date -u
} > $log 2>&1
cat $log

### exp10f.sh (dab4577 + no-pread-knob.patch; a fresh machine: its PCIe limit 48.6-50.1 GB/s)
# Session 10, experiment F (dab4577 + no-pread-knob.patch): do the timer queries around each
# pipelined read dispatch cost the stream? 64 MiB, 16 and 8 writers, with and without
# (GPUSOAK_EXP_NO_PREAD), the PCIe limit each round, four rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp10f.txt
one() { env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $W 2>&1 | grep -E "^.persistent_(coherent|flush) +64|rror|ismatch"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2 3 4; do
  echo "== round $r pcie"; python3 bench/torch_reference.py --writers "" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -E "^ +67108864"
  for W in 16 8; do
    export W
    echo "== round $r writers $W timed"; one A=1
    echo "== round $r writers $W untimed"; one GPUSOAK_EXP_NO_PREAD=1
  done
done
date -u
} > $log 2>&1
cat $log
