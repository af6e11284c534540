#!/usr/bin/env bash
# Session 11, experiment C (8cca579): the default conv2d run's kernel times for the large shapes
# were 1.3-2x the `--kernel winograd --mode sync` run's (session 10's whole runs). Which part of
# the default run slows the kernel? Same shapes, orders and modes interleaved, 20 iterations.
source .gpu/env.sh
cd "$(dirname "$0")/.."
log=$OUT/exp11c.txt
S="N32 C128 28x28 K128 3x3 p1;N32 C64 56x56 K64 3x3 p1"
one() { echo "-- $*"; gpusoak bench conv2d --shape "$S" --iterations 20 "$@" 2>&1 | grep -E "^N32|rror"; }
{
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv,noheader
for r in 1 2; do
  echo "== round $r"
  one
  one --mode sync
  one --kernel winograd --mode sync
  one --path staging
  one --path staging --mode sync
  one --mode pipelined,sync
done
nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv,noheader
date -u
} > $log 2>&1
cat $log
