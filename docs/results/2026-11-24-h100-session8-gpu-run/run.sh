#!/usr/bin/env bash
# Session 8 (2026-11-24), H100 80GB HBM3, driver 580.159.04, at 16560fc plus the
# torch_reference.py change of the commit that adds these files (pcie_with_writer).
# Here: ninja -C build && bench/gpu-run --pack; device (carry .gpu):
source .gpu/env.sh && date -u && time bench/gpu-run --run
python3 bench/torch_reference.py --shapes "N1 C3 32x32 K16 3x3 p1" --writers 1,2,3,4,8,16 > $OUT/writers.txt 2>&1
