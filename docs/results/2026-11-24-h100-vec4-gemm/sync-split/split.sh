#!/usr/bin/env bash
# Where a small sync batch goes on the H100 (produce / submit / finish), with and without the
# driver's yield in waits (__GL_YIELD=NOTHING spins), against cuDNN's e2e in the same command.
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1"
python3 bench/torch_reference.py --shapes "$S" > $OUT/ref.txt 2>&1
for round in 1 2; do
  gpusoak bench conv2d --shape "$S" --mode sync,pipelined --iterations 20 --json $OUT/split-$round.json > $OUT/split-$round.txt 2>&1
  __GL_YIELD=NOTHING gpusoak bench conv2d --shape "$S" --mode sync --iterations 20 > $OUT/split-spin-$round.txt 2>&1
done
python3 bench/torch_reference.py --shapes "$S" >> $OUT/ref.txt 2>&1
for f in $OUT/split-1.txt $OUT/split-spin-1.txt $OUT/split-2.txt $OUT/split-spin-2.txt; do echo "== $f"; grep -A20 "^shape" $f | grep -v "^$"; done
grep -A4 "cuDNN conv2d" $OUT/ref.txt
