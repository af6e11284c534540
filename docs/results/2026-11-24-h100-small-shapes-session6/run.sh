#!/usr/bin/env bash
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
cat /proc/loadavg
for r in 1 2; do
gpusoak bench conv2d --shape "$S" --path zero-copy --mode sync --iterations 30 --json $OUT/small$r.json > $OUT/small$r.txt 2>&1
grep -A3 "^shape  .*batch" $OUT/small$r.txt
done
python3 bench/torch_reference.py --shapes "$S" > $OUT/ref.txt 2>&1
grep -A3 "cuDNN conv2d" $OUT/ref.txt
