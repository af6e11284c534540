#!/usr/bin/env bash
# EXPERIMENT (wino-exp): the batched GEMM's s_a padding (bank conflicts on the A stores) x HM.
source .gpu/env.sh
S="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > $OUT/machine.txt
python3 bench/torch_reference.py --shapes "$S" --json $OUT/ref1.json > $OUT/ref.txt 2>&1
run() { tag=$1; kern=$2; shift 2
  env "$@" gpusoak bench conv2d --kernel $kern --path staging --mode sync --iterations 10 --shape "$S" 2>>$OUT/stderr.txt | grep -E '^N[0-9]' | sed "s/^/$tag /"; }
{
for round in 1 2; do
  run "pad0 hm1" winograd GPUSOAK_EXP_PAD=0 GPUSOAK_EXP_HM=1
  run "pad1 hm1" winograd GPUSOAK_EXP_PAD=1 GPUSOAK_EXP_HM=1
  run "pad1 hm2" winograd GPUSOAK_EXP_PAD=1 GPUSOAK_EXP_HM=2
  run "pad0 hm2" winograd GPUSOAK_EXP_PAD=0 GPUSOAK_EXP_HM=2
  run "pad1 hm1 gemm_wide" gemm_wide GPUSOAK_EXP_PAD=1
  run "pad0 hm1 gemm_wide" gemm_wide GPUSOAK_EXP_PAD=0
done
for cfg in "0 1" "1 1" "1 2"; do set -- $cfg
  GPUSOAK_EXP_STAGES=1 GPUSOAK_EXP_PAD=$1 GPUSOAK_EXP_HM=$2 gpusoak bench conv2d --kernel winograd --path staging --mode sync --iterations 10 --shape "N32 C128 28x28 K128 3x3 p1" 2>&1 | grep "stages us" | tail -5 | sed "s/^/pad$1 hm$2 N32C128 /"
done
} > $OUT/table.txt 2>&1
python3 bench/torch_reference.py --shapes "$S" --json $OUT/ref2.json >> $OUT/ref.txt 2>&1
cat $OUT/table.txt; grep -h "conv\|alone\|e2e" $OUT/ref.txt | head -30
