#!/usr/bin/env bash
# Session 7 experiments, two device calls at e6f4122^ (knobs-first.txt) and e6f4122 (knobs-in-place.txt),
# each with a temporary patch of environment knobs (never committed; knobs.patch is the first
# call's, the second added X_NOCOPYIN / X_NOCOPYOUT / X_EARLYFLUSH to conv2d_session::dispatch
# the same way). Here: apply the patch, ninja -C build gpusoak, bench/gpu-run --pack; device: the
# script below with .gpu carried.
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
L="N1 C64 56x56 K64 3x3 p1;N8 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
cat /proc/loadavg
run() { name=$1; shift; echo "=== $name: $*"; env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 100 --json $OUT/$name.json 2>&1 | grep -A3 "^shape  " ; }
for r in 1 2 3; do
run base$r A=1
run noin$r X_NOCOPYIN=1
run noout$r X_NOCOPYOUT=1
run neither$r X_NOCOPYIN=1 X_NOCOPYOUT=1
run early$r X_EARLYFLUSH=1
done
for v in "A=1" "X_NOCOPYIN=1" "X_NOCOPYOUT=1" "X_NOCOPYIN=1 X_NOCOPYOUT=1"; do echo "=== large $v"; env $v gpusoak bench conv2d --shape "$L" --path zero-copy --mode sync --iterations 20 2>&1 | grep -A4 "^shape  "; done
echo "=== pipelined"; gpusoak bench conv2d --shape "$S" --path zero-copy,staging --mode pipelined --iterations 300 2>&1 | grep -A5 "^shape  "
echo "=== pipelined noin"; X_NOCOPYIN=1 gpusoak bench conv2d --shape "$S" --path zero-copy --mode pipelined --iterations 300 2>&1 | grep -A5 "^shape  "
for r in 1 2; do python3 bench/torch_reference.py --shapes "$S;$L" --trials 100 2>&1 | grep -A6 "cuDNN conv2d"; done
cd $OUT && tar czf json.tgz *.json && rm *.json

# Third call (knobs-tiled.txt): the tiled shader with its tile and input-channel block set from
# X_TILED_LS / X_TILED_CB (a string replace in program_source) and the same in-place switches:
# S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
# cat /proc/loadavg
# run() { name=$1; shift; echo "=== $name: $*"; env "$@" gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 60 --kernel tiled 2>&1 | grep -E "^N1 .*(sync|zero-copy +[0-9])|error|rror" ; }
# for r in 1 2; do
# for v in "A=1" "X_TILED_LS=32,4" "X_TILED_CB=16" "X_TILED_LS=32,4 X_TILED_CB=16" "X_TILED_LS=64,2 X_TILED_CB=16"; do
# run "copies $v" $v
# run "inplace $v" $v X_NOCOPYIN=1 X_NOCOPYOUT=1
# done
# echo "=== auto"; gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 60 2>&1 | grep -E "^N1 .*(sync|zero-copy +[0-9])"
# done
