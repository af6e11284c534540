#!/usr/bin/env bash
# Ran at 1fbd9fd with a temporary patch, not committed: conv2d_kernels::copies_over_bus began with
#   if (const char* e = std::getenv("GPUSOAK_EXP_BUS_COPY")) return e[0] == '1' || kernel == conv2d_kernel::winograd;
# so that GPUSOAK_EXP_BUS_COPY=1 ran every kernel between bus copies and =0 only winograd.
source .gpu/env.sh
S="N1 C3 32x32 K16 3x3 p1;N1 C16 64x64 K16 3x3 p1;N1 C256 14x14 K256 1x1;N8 C64 56x56 K128 3x3 s2 p1;N32 C128 28x28 K256 1x1"
for k in tiled gemm gemm_wide; do
  for c in 0 1; do
    GPUSOAK_EXP_BUS_COPY=$c gpusoak bench conv2d --shape "$S" --kernel $k --path zero-copy --mode sync --iterations 10 --json $OUT/zc-$k-copy$c.json > /dev/null 2>&1
  done
done
gpusoak bench conv2d --shape "$S" --path staging --mode sync --iterations 10 --json $OUT/staging.json > /dev/null 2>&1
python3 - <<'PY'
import json, os, glob
out = os.environ["OUT"]
for f in sorted(glob.glob(out + "/*.json")):
    j = json.load(open(f))
    for c in j["cells"]:
        if "error" in c: print(os.path.basename(f), c["shape"], "ERR", c["error"][:60]); continue
        print(f"{os.path.basename(f):24s} {c['shape']:32s} {c['kernel']:10s} e2e {c['latency_ms']['median']*1e3:9.1f} us kernel {c['kernel_ms']*1e3 if c.get('kernel_ms') else float('nan'):9.1f} us err {c.get('reference_error')}")
PY
