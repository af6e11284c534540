#!/usr/bin/env bash
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1;N1 C64 56x56 K64 3x3 p1;N8 C64 56x56 K64 3x3 p1;N32 C64 56x56 K64 3x3 p1;N32 C128 28x28 K128 3x3 p1"
for k in tiled winograd; do
  gpusoak bench conv2d --shape "$S" --kernel $k --path zero-copy --mode sync --iterations 10 --json $OUT/zc-$k.json > $OUT/zc-$k.txt 2>&1
done
gpusoak bench conv2d --shape "$S" --json $OUT/auto.json > $OUT/auto.txt 2>&1
python3 bench/torch_reference.py --shapes "$S" > $OUT/ref.txt 2>&1
for k in tiled winograd; do grep -A8 "^shape  .*batch" $OUT/zc-$k.txt; done; grep -B2 -A30 "^shape  .*GFLOP" $OUT/auto.txt | grep -E "^N"; grep -A8 "cuDNN conv2d" $OUT/ref.txt
