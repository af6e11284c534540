#!/usr/bin/env bash
# Session 8 (2026-11-24), H100 80GB HBM3, driver 580.159.04. Four device calls, in order:
#  exp8a.sh, exp8b.sh, exp8c.sh ran main at 74c04ea with experiment-knobs.patch applied
#  (GPUSOAK_EXP_PIPE_TIMERS: a timer per pipelined read; _NO_PRODUCE: the ring without a producer;
#  _SAME: every read from segment 0; _BARRIER: a storage barrier before each read; _SPIN: a busy
#  thread; _PLAIN: plain stores in the producer). streaming.sh ran the commit that adds pread.

### exp8a.sh
# Session 8, experiment A: where the streaming pipeline's ~0.3 ms per 64 MiB goes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
export GPUSOAK_EXP_PIPE_TIMERS=1
log=$OUT/exp8a.txt
{
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
for th in 16 12 8 4; do
  echo "=== threads $th"
  gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $th 2>&1 | grep -E "EXP|^\*?persistent"
done
echo "=== threads 16, no producer (ring only)"
GPUSOAK_EXP_NO_PRODUCE=1 gpusoak bench upload --sizes 64MiB --paths persistent_coherent --producer-threads 16 2>&1 | grep -E "EXP|^\*?persistent"
echo "=== threads 16, depth 2 and 4"
for d in 2 4; do gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads 16 --depth $d 2>&1 | grep -E "EXP|^\*?persistent"; done
echo "=== threads 16, __GL_YIELD=USLEEP"
__GL_YIELD=USLEEP gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads 16 2>&1 | grep -E "EXP|^\*?persistent"
echo "=== PCIe limit"
python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" 2>&1 | tail -12
} > $log 2>&1
tail -40 $log

### exp8b.sh
# Session 8, experiment B: why the GPU's reads of host memory are slower inside the pipeline.
source .gpu/env.sh
cd "$(dirname "$0")/.."
export GPUSOAK_EXP_PIPE_TIMERS=1
log=$OUT/exp8b.txt
b() { gpusoak bench upload --sizes 64MiB --producer-threads 16 "$@" 2>&1 | grep -E "EXP|^\*?persistent"; }
{
date -u
echo "=== baseline"; b --paths persistent_coherent,persistent_flush
echo "=== barrier"; GPUSOAK_EXP_BARRIER=1 b --paths persistent_coherent,persistent_flush
echo "=== spin"; GPUSOAK_EXP_SPIN=1 b --paths persistent_coherent,persistent_flush
echo "=== spin+barrier"; GPUSOAK_EXP_SPIN=1 GPUSOAK_EXP_BARRIER=1 b --paths persistent_coherent,persistent_flush
echo "=== no produce"; GPUSOAK_EXP_NO_PRODUCE=1 b --paths persistent_coherent
echo "=== no produce, same segment"; GPUSOAK_EXP_NO_PRODUCE=1 GPUSOAK_EXP_SAME=1 b --paths persistent_coherent
echo "=== no produce, barrier"; GPUSOAK_EXP_NO_PRODUCE=1 GPUSOAK_EXP_BARRIER=1 b --paths persistent_coherent
echo "=== no produce, spin"; GPUSOAK_EXP_NO_PRODUCE=1 GPUSOAK_EXP_SPIN=1 b --paths persistent_coherent
echo "=== no produce, depth 8"; GPUSOAK_EXP_NO_PRODUCE=1 b --paths persistent_coherent --depth 8
echo "=== 16 MiB baseline"; gpusoak bench upload --sizes 16MiB --producer-threads 16 --paths persistent_coherent 2>&1 | grep -E "EXP|^\*?persistent"
nvidia-smi -q -d CLOCK,PERFORMANCE | grep -iE "SM|Graphics|Memory|Idle|Slowdown|Active" | head -20
lscpu | grep -iE "model name|numa|socket|MHz"
} > $log 2>&1
cat $log

### exp8c.sh
# Session 8, experiment C: pacing the writers (thread count) and segment sizes that fit the LLC.
source .gpu/env.sh
cd "$(dirname "$0")/.."
export GPUSOAK_EXP_PIPE_TIMERS=1
log=$OUT/exp8c.txt
b() { gpusoak bench upload --paths persistent_coherent,persistent_flush "$@" 2>&1 | grep -E "^\*?persistent"; }
{
date -u
lscpu | grep -iE "cache"
for rep in 1 2; do
  for th in 2 3 4 5 6 8 16; do echo "=== 64MiB threads $th rep $rep"; b --sizes 64MiB --producer-threads $th; done
done
for th in 4 16; do
  for plain in 0 1; do
    for d in 3 8; do
      echo "=== threads $th plain $plain depth $d"
      if [ $plain = 1 ]; then GPUSOAK_EXP_PLAIN=1 b --sizes 1MiB,2MiB,4MiB,8MiB,16MiB --producer-threads $th --depth $d;
      else b --sizes 1MiB,2MiB,4MiB,8MiB,16MiB --producer-threads $th --depth $d; fi
    done
  done
done
} > $log 2>&1
cat $log

### streaming.sh
# Session 8: the committed pread column and the writer sweep at 64 MiB, twice, with the PCIe limit.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/streaming.txt
{
date -u
for rep in 1 2; do
  echo "##### rep $rep"
  gpusoak bench upload --sizes 4MiB,16MiB,64MiB --producer-threads 16 --json $OUT/upload-t16-rep$rep.json 2>/dev/null | sed -n '/^path/,/fastest pipelined: .*/p'
  for writers in 2 3 4 6 8; do
    echo "== writers $writers"
    gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $writers 2>/dev/null | grep -E "^[ *]persistent"
  done
done
python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" 2>&1 | grep -A7 "pinned H2D"
} > $log 2>&1
cat $log

### exp8e.sh (main at 22cbc9f with copy-engine-knob.patch: GPUSOAK_EXP_CE copies each upload into VRAM with
### glCopyNamedBufferSubData before the read shader; GPUSOAK_EXP_NO_PRODUCE as above)
# Session 8, experiment E: the copy engine (glCopyNamedBufferSubData mapped -> VRAM, then the read
# shader on VRAM) against the shader reading the mapping, under the same writers.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8e.txt
b() { gpusoak bench upload --paths persistent_coherent,persistent_flush "$@" 2>/dev/null | grep -E "^[ *]persistent"; }
{
date -u
for rep in 1 2; do
  for w in 16 3 4; do
    echo "== rep $rep writers $w shader"; b --sizes 16MiB,64MiB --producer-threads $w
    echo "== rep $rep writers $w copy engine"; GPUSOAK_EXP_CE=1 b --sizes 16MiB,64MiB --producer-threads $w
  done
done
echo "== no writer, copy engine"; GPUSOAK_EXP_NO_PRODUCE=1 GPUSOAK_EXP_CE=1 gpusoak bench upload --paths persistent_coherent --sizes 64MiB 2>/dev/null | grep -E "^[ *]persistent"
echo "== no writer, shader"; GPUSOAK_EXP_NO_PRODUCE=1 gpusoak bench upload --paths persistent_coherent --sizes 64MiB 2>/dev/null | grep -E "^[ *]persistent"
python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" 2>&1 | grep -A6 "pinned H2D"
} > $log 2>&1
cat $log

### exp8j.sh and exp8k.sh (at 15ecdb4; .gpu/vk_stream built here from vk_stream.cpp with
### g++ -std=c++20 -O2 -mavx2 vk_stream.cpp -lvulkan -lpthread, against Debian 12 libvulkan-dev)
# Session 8, experiment J: Vulkan's transfer queue (copy engines) streaming 64 MiB batches from
# host-visible memory while CPU threads write the next batch (.gpu/src/vk_stream.cpp).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8j.txt
{
date -u
for rep in 1 2; do
  for mem in uncached cached; do
    for w in 0 3 8 16; do .gpu/vk_stream $w $mem; done
  done
done
python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" --writers 16 2>&1 | grep -A7 "pinned H2D bytes"
} > $log 2>&1
cat $log
# Session 8, experiment K: the three ways to stream 64 MiB batches beside CPU writers, interleaved
# three times in one call: CUDA's copy (torch_reference pcie_with_writer), Vulkan's transfer
# queue (.gpu/vk_stream), and ours (the shader reading the mapping, upload bench).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8k.txt
{
date -u; cat /proc/loadavg
for rep in 1 2 3; do
  echo "== rep $rep CUDA"
  python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" --writers 3,8,16 2>&1 | grep -A10 "pinned H2D bytes" | grep -E "67108864"
  echo "== rep $rep Vulkan (cached host memory)"
  for w in 0 3 8 16; do .gpu/vk_stream $w cached; done
  echo "== rep $rep ours"
  for w in 3 8 16; do gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush --producer-threads $w 2>/dev/null | grep -E "^[ *]persistent"; done
done
cat /proc/loadavg
} > $log 2>&1
cat $log

### exp8k.sh again on an H200 host (exp8k-h200.txt); exp8l.sh on the H200 (exp8l-h200.txt) and exp8m.sh on an
### H100 (exp8m.txt) with store-kind-knobs.patch (GPUSOAK_EXP_CE, GPUSOAK_EXP_PLAIN, GPUSOAK_EXP_STORE) on e61e87a;
### vk_stream.cpp as kept here takes a third argument, plain or stream.
# Session 8, experiment L: the writer's store kind beside a copy engine. Vulkan's transfer queue
# with plain against streaming stores; ours with plain stores (GPUSOAK_EXP_PLAIN), the shader
# reading the mapping and GL's buffer copy into VRAM first (GPUSOAK_EXP_CE).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8l.txt
b() { gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush "$@" 2>/dev/null | grep -E "^[ *]persistent"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for rep in 1 2; do
  for w in 3 16; do
    .gpu/vk_stream $w cached plain; .gpu/vk_stream $w cached stream
  done
  for w in 3 16; do
    echo "== rep $rep ours, plain stores, shader, writers $w"; GPUSOAK_EXP_PLAIN=1 b --producer-threads $w
    echo "== rep $rep ours, plain stores, GL copy first, writers $w"; GPUSOAK_EXP_PLAIN=1 GPUSOAK_EXP_CE=1 b --producer-threads $w
    echo "== rep $rep ours, streaming stores, GL copy first, writers $w"; GPUSOAK_EXP_CE=1 b --producer-threads $w
  done
done
} > $log 2>&1
cat $log
# Session 8, experiment M: the producer's store kind at 64 MiB (GPUSOAK_EXP_STORE: avx2plain,
# avx512 = 64-byte plain stores, avx512nt; GPUSOAK_EXP_PLAIN: scalar; default: AVX2 streaming).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8m.txt
b() { gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush "$@" 2>&1 | grep -E "^[ *]persistent|MISMATCH|error"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader; grep -o -m1 "avx512f" /proc/cpuinfo
for rep in 1 2; do
  for w in 16 8 4; do
    echo "== rep $rep writers $w streaming (default)"; b --producer-threads $w
    echo "== rep $rep writers $w avx2plain"; GPUSOAK_EXP_STORE=avx2plain b --producer-threads $w
    echo "== rep $rep writers $w avx512 plain"; GPUSOAK_EXP_STORE=avx512 b --producer-threads $w
    echo "== rep $rep writers $w avx512nt"; GPUSOAK_EXP_STORE=avx512nt b --producer-threads $w
  done
done
} > $log 2>&1
cat $log

### exp8n.sh (store-kind-knobs.patch now with GPUSOAK_EXP_STORE=movsb: 16 KiB blocks made in a cached
### thread-local block, then copied with rep movsb)
# Session 8, experiment N: the producer copying each 16 KiB block of words with rep movsb
# (GPUSOAK_EXP_STORE=movsb) against the AVX2 streaming stores, 64 MiB.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8n.txt
b() { gpusoak bench upload --sizes 64MiB --paths persistent_coherent,persistent_flush "$@" 2>&1 | grep -E "^[ *]persistent|MISMATCH|error"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for rep in 1 2; do
  for w in 16 8 4; do
    echo "== rep $rep writers $w movsb"; GPUSOAK_EXP_STORE=movsb b --producer-threads $w
    echo "== rep $rep writers $w streaming"; b --producer-threads $w
  done
done
} > $log 2>&1
cat $log
