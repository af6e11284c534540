#!/usr/bin/env bash
# Session 8 (2026-11-24), H100 80GB HBM3, driver 580.159.04: where a sync N1 C16 conv goes.
# exp8f.sh and exp8g.sh: main at 4551f13 with timeline-and-sections.patch (exp8f ran the timeline
# part before the section marks and GPUSOAK_EXP_UNIFORMS_ONCE were added). exp8h.sh: "new" is
# shared-input-stage.patch (not kept), "gpusoak-old" the exp8g binary. exp8i.sh: glfinish.patch.

### exp8f.sh
# Session 8, experiment F: the timeline of a sync N1 C16 conv (CPU submit, GPU start, GPU busy,
# wake-up after the GPU ends), and early flushes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8f.txt
S="N1 C16 64x64 K16 3x3 p1"
one() { env "$@" GPUSOAK_EXP_TS=1 gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "EXP|^N1 .*zero-copy +[0-9]"; }
{
date -u; cat /proc/loadavg
for r in 1 2; do
  echo "== rep $r baseline"; one A=1
  echo "== rep $r flush after stage 1"; one GPUSOAK_EXP_FLUSH_FIRST=1
  echo "== rep $r flush after fence"; one GPUSOAK_EXP_FLUSH_END=1
  echo "== rep $r both"; one GPUSOAK_EXP_FLUSH_FIRST=1 GPUSOAK_EXP_FLUSH_END=1
  python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -1
done
echo "== N1 C3 baseline"; GPUSOAK_EXP_TS=1 gpusoak bench conv2d --shape "N1 C3 32x32 K16 3x3 p1" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "EXP|^N1 .*zero-copy +[0-9]"
} > $log 2>&1
cat $log

### exp8g.sh
# Session 8, experiment G: where the CPU submit of a sync N1 C16 conv goes (sections), and the
# timeline with the uniforms set once per program.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8g.txt
S="N1 C16 64x64 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 300 2>&1 | grep -E "EXP|^N1 .*zero-copy +[0-9]"; }
{
date -u; cat /proc/loadavg
for r in 1 2 3; do
  echo "== rep $r marks"; one GPUSOAK_EXP_MARKS=1
  echo "== rep $r marks split"; one GPUSOAK_EXP_MARKS=1 GPUSOAK_EXP_SPLIT=1
  echo "== rep $r timeline"; one GPUSOAK_EXP_TS=1
  echo "== rep $r timeline, uniforms once"; one GPUSOAK_EXP_TS=1 GPUSOAK_EXP_UNIFORMS_ONCE=1
  echo "== rep $r marks, uniforms once"; one GPUSOAK_EXP_MARKS=1 GPUSOAK_EXP_UNIFORMS_ONCE=1 GPUSOAK_EXP_SPLIT=1
done
} > $log 2>&1
cat $log

### exp8h.sh
# Session 8, experiment H: winograd's input stage through shared memory (new) against the
# per-tile loads (old, 74c04ea + timeline instrumentation), small shapes against PyTorch in
# pairs, the large shapes' kernel time, and the conv2d GL tests on the driver.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8h.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
L="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1;N1 C64 56x56 K64 3x3 p1"
{
date -u; cat /proc/loadavg
for r in 1 2 3 4; do
  echo "== pair $r new"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"
  echo "== pair $r old"; GPUSOAK_EXP_TS=1 gpusoak-old bench conv2d --shape "N1 C16 64x64 K16 3x3 p1" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "EXP|^N1 .*zero-copy +[0-9]"
  echo "== pair $r torch"; python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
echo "== large new"; gpusoak bench conv2d --shape "$L" --kernel winograd --mode sync --iterations 10 2>&1 | grep -E "^N[0-9]+ .*(zero-copy|staging) +[0-9]"
echo "== large old"; gpusoak-old bench conv2d --shape "$L" --kernel winograd --mode sync --iterations 10 2>&1 | grep -E "^N[0-9]+ .*(zero-copy|staging) +[0-9]"
echo "== tests"
for t in conv2d_test conv2d_zero_copy_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -3; done
} > $log 2>&1
cat $log

### exp8i.sh
# Session 8, experiment I: a sync conv waited with glFinish instead of a fence, and the driver's
# yield mode, against PyTorch, in rounds.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8i.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"; }
{
date -u; cat /proc/loadavg
for r in 1 2 3 4; do
  echo "== round $r fence"; one A=1
  echo "== round $r glFinish"; one GPUSOAK_EXP_FINISH=1
  echo "== round $r fence, __GL_YIELD=NOTHING"; one __GL_YIELD=NOTHING
  echo "== round $r glFinish, __GL_YIELD=NOTHING"; one GPUSOAK_EXP_FINISH=1 __GL_YIELD=NOTHING
  echo "== round $r torch"; python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
} > $log 2>&1
cat $log

### exp8o.sh: main at f6c00a7 with fused-input-knob.patch (GPUSOAK_EXP_FUSE: every winograd conv fused, no
### barrier before the GEMM). exp8p.sh: the fused rule as first written (a barrier before every GEMM).
### exp8q.sh: the rule as committed in 24b1c5d (a barrier only where an earlier conv may run) against
### a temporary GPUSOAK_EXP_BARRIER_ALWAYS knob (the exp8p behaviour).
# Session 8, experiment O: winograd with the input transform fused into the batched GEMM's loads
# (GPUSOAK_EXP_FUSE: two dispatches instead of three) against three dispatches, in rounds with
# PyTorch; the kernel alone on larger shapes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8o.txt
S="N1 C16 64x64 K16 3x3 p1;N1 C64 56x56 K64 3x3 p1"
L="N8 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4; do
  echo "== round $r three dispatches"; one A=1
  echo "== round $r fused"; one GPUSOAK_EXP_FUSE=1
  echo "== round $r torch"; python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
echo "== large, three dispatches"; gpusoak bench conv2d --shape "$L" --kernel winograd --mode sync --iterations 10 2>&1 | grep -E "^N[0-9]+ .*(zero-copy|staging) +[0-9]"
echo "== large, fused"; GPUSOAK_EXP_FUSE=1 gpusoak bench conv2d --shape "$L" --kernel winograd --mode sync --iterations 10 2>&1 | grep -E "^N[0-9]+ .*(zero-copy|staging) +[0-9]"
echo "== tests, fused"; GPUSOAK_EXP_FUSE=1 .gpu/bin/conv2d_test --gtest_brief=1 2>&1 | tail -1; GPUSOAK_EXP_FUSE=1 .gpu/bin/conv2d_zero_copy_test --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | tail -1
} > $log 2>&1
cat $log
# Session 8, experiment P: the committed fused input transform (inputs under 512 KiB, with its
# barrier) in rounds with PyTorch on the small shapes; winograd's GL tests on the driver.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8p.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5 6; do
  echo "== round $r ours"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"
  echo "== round $r torch"; python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
echo "== pipelined, both paths"; gpusoak bench conv2d --shape "N1 C16 64x64 K16 3x3 p1;N1 C64 56x56 K64 3x3 p1" --iterations 50 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
for t in conv2d_test conv2d_zero_copy_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -2; done
} > $log 2>&1
cat $log
# Session 8, experiment Q: the fused input transform with its barrier only where an earlier conv
# may still run (sync: none) against always (GPUSOAK_EXP_BARRIER_ALWAYS), in rounds with PyTorch.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp8q.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5 6; do
  echo "== round $r barrier when needed"; one A=1
  echo "== round $r barrier always"; one GPUSOAK_EXP_BARRIER_ALWAYS=1
  echo "== round $r torch"; python3 bench/torch_reference.py --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
echo "== pipelined"; gpusoak bench conv2d --shape "N1 C16 64x64 K16 3x3 p1" --iterations 50 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
for t in conv2d_test conv2d_zero_copy_test bench_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -1; done
} > $log 2>&1
cat $log
