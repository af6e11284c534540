#!/usr/bin/env bash
# Session 9 (2026-11-24), H100 80GB HBM3, driver 580.159.04: the scripts of each device call,
# verbatim; each wrote the .txt of its name. Here: ninja -C build && bench/gpu-run --pack, the script
# copied into .gpu/; device (carry .gpu): .gpu/exp9X.sh.
#
# Trees: exp9a, exp9b, exp9c ran the one-dispatch kernel before e8eff04 with temporary knobs (not
# kept): GPUSOAK_EXP_WINO=gemm chose the two-dispatch fused GEMM of 24b1c5d; GPUSOAK_EXP_DEFS
# was prepended to every program source (EXP_TW/EXP_TH: tiles per block, EXP_CB: channels per
# chunk; defaults 8, 2, 8) and GPUSOAK_EXP_TH told the host the block height for its grid.
# exp9a: the first version (4-byte patch loads issued on use, 8x2 tiles, 8 channels a chunk).
# exp9b/c: whole-vec4 patch loads a chunk ahead (as committed), block shapes and chunk sizes.
# exp9d: e8eff04 as committed (16x1 tiles, 4 channels a chunk), no knobs.
# exp9e: e8eff04 plus a knob GPUSOAK_EXP_WB, the channels of patch loaded at once (a window
# of WB channels issued a window ahead; WB=4 is e8eff04); not kept: no gain.

### exp9a.sh
# Session 9, experiment A: winograd in one dispatch for small inputs (conv2d_winograd_small.comp,
# the default in this tree) against the two-dispatch fused GEMM of 24b1c5d (GPUSOAK_EXP_WINO=gemm),
# in rounds with PyTorch; other small-input winograd shapes both ways; winograd's GL tests.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9a.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
M="N1 C64 28x28 K64 3x3 p1;N1 C128 14x14 K128 3x3 p1;N1 C256 14x14 K256 3x3 p1;N2 C32 32x32 K64 3x3 p1;N1 C16 64x64 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5 6; do
  echo "== round $r one dispatch"; one A=1
  echo "== round $r two dispatches"; one GPUSOAK_EXP_WINO=gemm
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
for r in 1 2; do
echo "== mid shapes one dispatch"; gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
echo "== mid shapes two dispatches"; GPUSOAK_EXP_WINO=gemm gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
done
echo "== mid shapes torch"; python3 bench/torch_reference.py --writers "" --shapes "$M" --trials 100 2>&1 | grep -A6 "cuDNN conv2d"
echo "== pipelined"; gpusoak bench conv2d --shape "N1 C16 64x64 K16 3x3 p1" --iterations 50 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
for t in conv2d_test conv2d_zero_copy_test bench_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -2; done
} > $log 2>&1
cat $log

### exp9b.sh
# Session 9, experiment B: the one-dispatch small winograd with whole-vec4 patch loads issued a
# chunk ahead, in four block shapes / chunk sizes (GPUSOAK_EXP_DEFS, GPUSOAK_EXP_TH), against the
# two-dispatch fused GEMM of 24b1c5d (GPUSOAK_EXP_WINO=gemm), in rounds with PyTorch.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9b.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
M="N1 C64 28x28 K64 3x3 p1;N1 C128 14x14 K128 3x3 p1;N1 C256 14x14 K256 3x3 p1;N2 C32 32x32 K64 3x3 p1;N1 C16 64x64 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 C16.*zero-copy +[0-9]"; }
D16x1=$'#define EXP_TW 16\n#define EXP_TH 1'
D4x4=$'#define EXP_TW 4\n#define EXP_TH 4'
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5; do
  echo "== round $r 8x2 cb8"; one A=1
  echo "== round $r 16x1 cb8"; one GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$D16x1"
  echo "== round $r 4x4 cb8"; one GPUSOAK_EXP_TH=4 GPUSOAK_EXP_DEFS="$D4x4"
  echo "== round $r 8x2 cb4"; one GPUSOAK_EXP_DEFS="#define EXP_CB 4"
  echo "== round $r two dispatches"; one GPUSOAK_EXP_WINO=gemm
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -1
done
for r in 1 2; do
echo "== mid shapes 8x2 cb8"; gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
echo "== mid shapes 16x1"; GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$D16x1" gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
echo "== mid shapes two dispatches"; GPUSOAK_EXP_WINO=gemm gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
done
for t in conv2d_test conv2d_zero_copy_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -2; done
} > $log 2>&1
cat $log

### exp9c.sh
# Session 9, experiment C: block 16x1 with 8 or 4 channels a chunk, against 8x2 with 4, in rounds
# with PyTorch; the mid shapes where one dispatch won (exp9b) for each.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9c.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
M="N1 C64 28x28 K64 3x3 p1;N2 C32 32x32 K64 3x3 p1;N1 C32 56x56 K32 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 C16.*zero-copy +[0-9]"; }
A=$'#define EXP_TW 16\n#define EXP_TH 1\n#define EXP_CB 8'
B=$'#define EXP_TW 16\n#define EXP_TH 1\n#define EXP_CB 4'
C=$'#define EXP_CB 4'
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5 6; do
  echo "== round $r 16x1 cb8"; one GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$A"
  echo "== round $r 16x1 cb4"; one GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$B"
  echo "== round $r 8x2 cb4"; one GPUSOAK_EXP_DEFS="$C"
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -1
done
for r in 1 2; do
echo "== mid 16x1 cb8"; GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$A" gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
echo "== mid 16x1 cb4"; GPUSOAK_EXP_TH=1 GPUSOAK_EXP_DEFS="$B" gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
echo "== mid two dispatches"; GPUSOAK_EXP_WINO=gemm gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
done
python3 bench/torch_reference.py --writers "" --shapes "$M" --trials 100 2>&1 | grep -A4 "cuDNN conv2d"
} > $log 2>&1
cat $log

### exp9d.sh
# Session 9, experiment D: the committed one-dispatch winograd (small inputs, C <= 64) in ten
# rounds with PyTorch on the small shapes, then the small-input winograd shapes against cuDNN.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9d.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
M="N1 C64 28x28 K64 3x3 p1;N2 C32 32x32 K64 3x3 p1;N1 C32 56x56 K32 3x3 p1;N1 C128 14x14 K128 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader; git -C . log -1 --format=%h 2>/dev/null
for r in 1 2 3 4 5 6 7 8 9 10; do
  echo "== round $r ours"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -2
done
for r in 1 2 3; do
  echo "== mid round $r ours"; gpusoak bench conv2d --shape "$M" --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
  echo "== mid round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$M" --trials 100 2>&1 | grep -A4 "cuDNN conv2d" | tail -4
done
} > $log 2>&1
cat $log

### exp9e.sh
# Session 9, experiment E: the one-dispatch winograd loading 16 channels of patch at once
# (GPUSOAK_EXP_WB=16) against one chunk of 4 at a time (=4, as in e8eff04), in rounds with
# PyTorch; then winograd against tiled on small shapes that pick tiled (K < 32, C < 16).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9e.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
T="N1 C3 32x32 K16 3x3 p1;N1 C8 64x64 K8 3x3 p1;N4 C3 32x32 K16 3x3 p1;N1 C3 64x64 K16 3x3 p1;N1 C1 28x28 K8 3x3 p1;N1 C8 56x56 K24 3x3 p1;N1 C3 224x224 K16 3x3 p1"
one() { env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 C16.*zero-copy +[0-9]"; }
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5 6; do
  echo "== round $r wb16"; one GPUSOAK_EXP_WB=16
  echo "== round $r wb4"; one GPUSOAK_EXP_WB=4
  echo "== round $r wb8"; one GPUSOAK_EXP_WB=8
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A2 "cuDNN conv2d" | tail -1
done
for r in 1 2 3; do
  for k in tiled winograd; do
    echo "== small round $r $k"; GPUSOAK_EXP_WB=16 gpusoak bench conv2d --shape "$T" --kernel $k --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
  done
done
python3 bench/torch_reference.py --writers "" --shapes "$T" --trials 100 2>&1 | grep -A8 "cuDNN conv2d"
} > $log 2>&1
cat $log

### exp9f.sh (the working tree of the next commit: pick(shape, discrete))
# Session 9, experiment F: pick(shape, discrete) gives the small few-channel shapes to the
# one-dispatch winograd on this GPU. Every GL test binary on the driver, then rounds of ours
# (auto pick) and PyTorch on the small shapes, then both paths and modes on them.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9f.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1;N1 C8 64x64 K8 3x3 p1"
export GPUSOAK_GPUSOAKD=$(command -v gpusoakd)
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
status=0
for t in .gpu/bin/*_test; do echo "== $(basename $t)"; "$t" --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -3 || status=1; done
echo "tests exit: $status"
for r in 1 2 3 4 5 6; do
  echo "== round $r ours"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"
  echo "== round $r torch"; python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 200 2>&1 | grep -A3 "cuDNN conv2d" | tail -3
done
echo "== both paths, both modes"; gpusoak bench conv2d --shape "$S" --iterations 50 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
} > $log 2>&1
cat $log

### exp9g.sh (same tree)
# Session 9, experiment G: N1 C3 32x32 K16 pipelined, the new pick (winograd) against tiled,
# alternating, both paths.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9g.txt
S="N1 C3 32x32 K16 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4 5; do
  for k in winograd tiled; do
    echo "== round $r $k"; gpusoak bench conv2d --shape "$S" --kernel $k --iterations 200 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
  done
done
} > $log 2>&1
cat $log

### exp9j.sh (the working tree of the commit after 82b2e18: the transforms as shared GLSL functions)
# Session 9, experiment J: the Winograd transforms moved into conv2d_common.glsl functions: the
# conv2d tests on the driver and N1 C16 / N1 C3 sync rounds (no change expected).
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9j.txt
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for t in conv2d_test conv2d_zero_copy_test bench_test scenario_test; do .gpu/bin/$t --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -2; done
for r in 1 2 3; do gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 200 2>&1 | grep -E "^N1 .*zero-copy +[0-9]"; done
gpusoak bench conv2d --shape "N32 C128 28x28 K128 3x3 p1" --kernel winograd --mode sync --iterations 10 2>&1 | grep -E "^N32 .*(zero-copy|staging) +[0-9]"
} > $log 2>&1
cat $log

### exp9l.sh (e198f0c plus a knob GPUSOAK_EXP_STEPS=one|gemm|three forcing winograd_steps_for's plan)
# Session 9, experiment L: pin winograd_steps_for's thresholds. Every winograd plan forced
# (GPUSOAK_EXP_STEPS=one|gemm|three) on inputs around 512 KiB and channel counts around 64,
# sync zero-copy, interleaved twice; cuDNN on the same shapes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9l.txt
M="N1 C64 40x40 K64 3x3 p1;N1 C32 64x64 K32 3x3 p1;N1 C64 56x56 K64 3x3 p1;N1 C16 128x128 K16 3x3 p1;N2 C64 56x56 K64 3x3 p1;N1 C96 28x28 K96 3x3 p1;N1 C128 28x28 K128 3x3 p1;N4 C32 56x56 K32 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2; do
  for st in one gemm three; do
    echo "== round $r $st"; GPUSOAK_EXP_STEPS=$st gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
  done
done
python3 bench/torch_reference.py --writers "" --shapes "$M" --trials 100 2>&1 | grep -A9 "cuDNN conv2d"
} > $log 2>&1
cat $log

### exp9m.sh (the same tree)
# Session 9, experiment M: confirm exp9l, four rounds, to pin winograd_steps_for's thresholds. Every winograd plan forced
# (GPUSOAK_EXP_STEPS=one|gemm|three) on inputs around 512 KiB and channel counts around 64,
# sync zero-copy, interleaved twice; cuDNN on the same shapes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9m.txt
M="N1 C32 64x64 K32 3x3 p1;N1 C64 56x56 K64 3x3 p1;N1 C16 128x128 K16 3x3 p1;N2 C64 56x56 K64 3x3 p1;N1 C96 28x28 K96 3x3 p1;N1 C128 28x28 K128 3x3 p1;N1 C256 14x14 K256 3x3 p1"
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
for r in 1 2 3 4; do
  for st in one gemm three; do
    echo "== round $r $st"; GPUSOAK_EXP_STEPS=$st gpusoak bench conv2d --shape "$M" --kernel winograd --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
  done
done
} > $log 2>&1
cat $log

### exp9n.sh (the commit that removed the input-in-GEMM plan: winograd_in_one_dispatch)
# Session 9, experiment N: winograd_in_one_dispatch (below 2 MiB, C <= 64; the input-in-GEMM plan
# removed). Every GL test binary on the driver; the auto pick on shapes whose plan changed, with
# tiled beside the one that moved from tiled; PyTorch on the same shapes.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp9n.txt
S="N1 C64 56x56 K64 3x3 p1;N1 C3 224x224 K16 3x3 p1;N1 C96 28x28 K96 3x3 p1;N1 C128 14x14 K128 3x3 p1;N1 C32 64x64 K32 3x3 p1;N1 C16 64x64 K16 3x3 p1"
export GPUSOAK_GPUSOAKD=$(command -v gpusoakd)
{
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
status=0
for t in .gpu/bin/*_test; do echo "== $(basename $t)"; "$t" --gtest_brief=1 --gtest_filter='-*Apitrace*' 2>&1 | grep -vE '^\[20' | tail -2 || status=1; done
echo "tests exit: $status"
for r in 1 2 3; do
  echo "== round $r auto"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
  echo "== round $r tiled"; gpusoak bench conv2d --shape "N1 C3 224x224 K16 3x3 p1" --kernel tiled --path zero-copy --mode sync --iterations 100 2>&1 | grep -E "^N[0-9]+ .*zero-copy +[0-9]"
done
python3 bench/torch_reference.py --writers "" --shapes "$S" --trials 100 2>&1 | grep -A7 "cuDNN conv2d"
echo "== both paths, both modes"; gpusoak bench conv2d --shape "$S" --iterations 50 2>&1 | grep -E "^N1 .*(zero-copy|staging) +[a-z]+ +[0-9]"
} > $log 2>&1
cat $log
