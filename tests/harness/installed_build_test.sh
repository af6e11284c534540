#!/bin/sh
# checks that `cmake --install` puts gpusoak, gpusoakd and the shipped plans under a prefix, that the
# installed gpusoak finds its plans beside it (PREFIX/share/gpusoak/plans for PREFIX/bin/gpusoak)
# and nowhere else, and that it carries no source or build path: the lent GPU machine and an
# install run our build from another path.
# Usage: installed_build_test.sh CMAKE BUILD_DIR PREFIX SOURCE_DIR CHECK_STRINGS(0|1)
set -eu
cmake=$1 build_dir=$2 prefix=$3 source_dir=$4 check_strings=$5
rm -rf "$prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >/dev/null
for f in bin/gpusoak bin/gpusoakd share/gpusoak/plans/smoke.yaml share/gpusoak/plans/release.yaml; do
  [ -e "$prefix/$f" ] || { echo "FAIL: the install has no $f"; exit 1; }
done
# The source tree's plans must not be what the program reads: move the installed ones aside.
mv "$prefix/share/gpusoak/plans" "$prefix/shipped-plans"
mkdir -p "$prefix/share/gpusoak/plans"
# A plan that exists only in the install: finding it proves where the program looked.
cat >"$prefix/share/gpusoak/plans/only_here.yaml" <<'PLAN'
name: only_here
sample_interval: 100ms
phases:
  - name: churn
    duration: 600ms
    scenarios:
      - name: fragmentation
        params: {pool_chunk: 8MiB, max_block: 64KiB}
thresholds:
  - "integrity_failures_total == 0"
PLAN
cd "$prefix"  # neither the source nor the build tree
unset GPUSOAK_PLANS_DIR
"$prefix/bin/gpusoak" soak only_here --db "$prefix/runs.db" >out.txt 2>&1 || { cat out.txt; exit 1; }
grep -q "only_here" out.txt || { cat out.txt; echo "FAIL: the installed plan did not run"; exit 1; }
# smoke is in the source and build trees, not in the install's plans folder now: not found.
if "$prefix/bin/gpusoak" soak smoke --db "$prefix/smoke.db" >err.txt 2>&1; then
  echo "FAIL: 'smoke' ran although the installed plans folder has only only_here.yaml"
  exit 1
fi
grep -q "only_here" err.txt || { cat err.txt; echo "FAIL: the error should list the installed plans"; exit 1; }
if [ "$check_strings" = 1 ]; then
  strip --strip-debug -o stripped "$prefix/bin/gpusoak"
  for path in "$source_dir" "$build_dir"; do
    if grep -qF "$path" stripped; then
      echo "FAIL: the binary carries the path $path:"
      strings stripped | grep -F "$path" | head -5
      exit 1
    fi
  done
fi
echo "installed build: plans found beside the program; no source or build path in it"
