#!/usr/bin/env bash
# Session 9 (2026-11-24), H100 host: fill rates by store kind. store_probe.cpp (here; exp9h ran the first
# version: kinds plain-avx2, stream-avx2, memset, rep-stosb at 3 and 16 threads; exp9i this one) was built
# here against build/buffers/libgpusoak_buffers.a and libgpusoak_glad.a:
#   g++ -std=c++23 -O2 -mavx2 -I buffers/include store_probe.cpp build/buffers/libgpusoak_buffers.a \
#       build/libgpusoak_glad.a -ldl -lspdlog -lfmt -lglfw -pthread
# and packed into .gpu/libexec with a bin/ wrapper like gpusoak's. Device (carry .gpu): .gpu/exp9X.sh.

### exp9h.sh
# Session 9, experiment H: fill rates of 64 MiB by store kind and thread count, in mlocked
# malloc memory and in our GL mappings (store_probe.cpp), then PyTorch's fill_ on pinned and
# pageable tensors with the same thread counts; then store_probe again (order effects).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9h.txt
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader; lscpu | grep -E "Model name|NUMA|Socket|L3|Flags" | cut -c1-200
store_probe 2>&1 | grep -v '^\[20'
python3 - <<'PY'
import time, statistics, torch
n = 16 << 20
for pinned in (True, False):
    t = torch.empty(n, dtype=torch.float32, pin_memory=pinned)
    t.fill_(0.0)
    for threads in (3, 16):
        torch.set_num_threads(threads)
        s = []
        for r in range(9):
            t0 = time.perf_counter(); t.fill_(float(r + 1)); s.append(time.perf_counter() - t0)
        print(f"torch fill_ pinned={pinned} threads {threads:2d} median {(n * 4) / statistics.median(s) / 1e9:7.1f} GB/s (min {min(s)*1e3:.3f} ms)")
PY
store_probe 2>&1 | grep -v '^\[20' | grep "threads 16"
} > $log 2>&1
cat $log

### exp9i.sh
# Session 9, experiment I: store_probe with AVX-512 plain stores and unrolled AVX2 plain stores
# (16 threads, 64 MiB); PyTorch's CPU capability and fill_ rate; the CPU's store-related flags.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9i.txt
{
date -u; grep -o -w -E "avx512f|avx512bw|movdir64b|movdiri|clwb|serialize|amx_tile|erms|fsrm" /proc/cpuinfo | sort | uniq -c
python3 -c "import torch; print('torch cpu capability', torch.backends.cpu.get_cpu_capability())"
for r in 1 2; do store_probe 2>&1 | grep -v '^\[20'; done
python3 - <<'PY'
import time, statistics, torch
n = 16 << 20
t = torch.empty(n, dtype=torch.float32, pin_memory=True); t.fill_(0.0)
torch.set_num_threads(16)
s = []
for r in range(15):
    t0 = time.perf_counter(); t.fill_(float(r + 1)); s.append(time.perf_counter() - t0)
print(f"torch fill_ pinned threads 16 median {(n * 4) / statistics.median(s) / 1e9:7.1f} GB/s")
PY
} > $log 2>&1
cat $log

### exp9k.sh (read-in-flight-knobs.patch applied to e198f0c)
# Session 9, experiment K: does the read shader lose to the writers for want of reads in flight?
# The upload bench's reader with 4 or 8 loads issued before use (GPUSOAK_EXP_UNROLL) and 4096
# groups (GPUSOAK_EXP_GROUPS) against the committed one (1 load a step, 1024 groups), 64 MiB,
# 16 and 3 streaming writers, interleaved.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9k.txt
one() { env "$@" gpusoak bench upload --sizes 64MiB --paths persistent_coherent --producer-threads $W 2>&1 | grep -E "^\*persistent_coherent +64"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2; do
  for W in 16 3; do
    export W
    echo "== round $r writers $W committed"; one A=1
    echo "== round $r writers $W unroll 4"; one GPUSOAK_EXP_UNROLL=4
    echo "== round $r writers $W unroll 8"; one GPUSOAK_EXP_UNROLL=8
    echo "== round $r writers $W groups 4096"; one GPUSOAK_EXP_GROUPS=4096
    echo "== round $r writers $W unroll 4 groups 4096"; one GPUSOAK_EXP_UNROLL=4 GPUSOAK_EXP_GROUPS=4096
  done
done
python3 bench/torch_reference.py --writers "3,16" --shapes "N1 C3 32x32 K16 3x3 p1" --trials 20 2>&1 | grep -A8 "pinned H2D bytes"
} > $log 2>&1
cat $log
