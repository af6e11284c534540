#!/usr/bin/env bash
source .gpu/env.sh
S="N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1;N1 C256 14x14 K256 1x1"
nvidia-smi --query-gpu=name,driver_version --format=csv > $OUT/machine.txt; nproc >> $OUT/machine.txt
for t in 1 4 16; do
  gpusoak bench conv2d --shape "$S" --path zero-copy --producer-threads $t --iterations 10 --json $OUT/zc-t$t.json > $OUT/zc-t$t.txt 2>&1
done
gpusoak bench conv2d --shape "$S" --path staging --mode sync --iterations 10 --json $OUT/staging.json > $OUT/staging.txt 2>&1
python3 bench/torch_reference.py --shapes "$S" > $OUT/ref.txt 2>&1
for t in 1 4 16; do echo "== threads $t"; grep -E "^N" $OUT/zc-t$t.txt; done; grep -E "^N" $OUT/staging.txt | head; grep -A8 "cuDNN conv2d" $OUT/ref.txt
