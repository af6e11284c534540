#!/usr/bin/env bash
# EXPERIMENT (wino-exp): the driver's program binaries, and optionNV(unroll all).
source .gpu/env.sh
S="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
d=$(mktemp -d)
for cfg in "hm1 GPUSOAK_EXP_HM=1" "hm2 GPUSOAK_EXP_HM=2" "hm1unroll GPUSOAK_EXP_HM=1 GPUSOAK_EXP_UNROLL=1"; do
  set -- $cfg; tag=$1; shift; mkdir -p $d/$tag
  env "$@" GPUSOAK_EXP_DUMP=$d/$tag gpusoak bench conv2d --kernel winograd --path staging --mode sync --iterations 1 --shape "N1 C64 16x16 K64 3x3 p1" >/dev/null 2>&1
done
tar czf $OUT/dumps.tgz -C $d .
{
for round in 1 2; do
  for cfg in "hm1 GPUSOAK_EXP_HM=1" "hm1unroll GPUSOAK_EXP_HM=1 GPUSOAK_EXP_UNROLL=1" "hm2unroll GPUSOAK_EXP_HM=2 GPUSOAK_EXP_UNROLL=1"; do
    set -- $cfg; tag=$1; shift
    env "$@" gpusoak bench conv2d --kernel winograd --path staging --mode sync --iterations 10 --shape "$S" 2>/dev/null | grep -E '^N[0-9]' | sed "s/^/$tag /"
  done
  GPUSOAK_EXP_UNROLL=1 gpusoak bench conv2d --kernel gemm_wide --path staging --mode sync --iterations 10 --shape "$S" 2>/dev/null | grep -E '^N[0-9]' | sed "s/^/unroll gemm_wide /"
done
} > $OUT/table.txt 2>&1
cat $OUT/table.txt | awk '{print $1, $2, $3, $4, $(NF-4), $(NF-3)}'
