#!/usr/bin/env bash
# EXPERIMENT (wino-exp): vec4 staging stores in the batched GEMM.
source .gpu/env.sh
S="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
python3 bench/torch_reference.py --shapes "$S" > $OUT/ref.txt 2>&1
{
for round in 1 2; do
  for cfg in "base GPUSOAK_EXP_HM=1" "vec GPUSOAK_EXP_VEC=1" "vecpad GPUSOAK_EXP_VEC=1 GPUSOAK_EXP_PAD=1" "vecpad-hm2 GPUSOAK_EXP_VEC=1 GPUSOAK_EXP_PAD=1 GPUSOAK_EXP_HM=2" "vec-hm2 GPUSOAK_EXP_VEC=1 GPUSOAK_EXP_HM=2"; do
    set -- $cfg; tag=$1; shift
    env "$@" gpusoak bench conv2d --kernel winograd --path staging --mode sync --iterations 10 --shape "$S" 2>/dev/null | grep -E '^N[0-9]' | sed "s/^/$tag /"
  done
done
for cfg in "base" "vec GPUSOAK_EXP_VEC=1" "vecpad GPUSOAK_EXP_VEC=1 GPUSOAK_EXP_PAD=1" "vecpad-hm2 GPUSOAK_EXP_VEC=1 GPUSOAK_EXP_PAD=1 GPUSOAK_EXP_HM=2"; do
  set -- $cfg; tag=$1; shift
  env "$@" GPUSOAK_EXP_STAGES=1 gpusoak bench conv2d --kernel winograd --path staging --mode sync --iterations 10 --shape "N32 C128 28x28 K128 3x3 p1" 2>&1 | grep "stages us" | tail -3 | sed "s/^/$tag N32C128 /"
done
} > $OUT/table.txt 2>&1
python3 bench/torch_reference.py --shapes "$S" >> $OUT/ref.txt 2>&1
awk '{print $1, $2, $3, $4, $(NF-4), $(NF-3)}' $OUT/table.txt | grep -v stages; grep stages $OUT/table.txt; cat $OUT/ref.txt
