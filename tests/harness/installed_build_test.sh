#!/bin/sh
# checks that `cmake --install` lays out gpusoak, gpusoakd, the shipped plans, the systemd unit (its
# ExecStart and settings file for this prefix), sysusers, rules and dashboards under a prefix; that
# the installed gpusoak finds its plans beside it (PREFIX/share/gpusoak/plans for PREFIX/bin/gpusoak)
# and nowhere else; that a user's plans folder (--plans-dir, $GPUSOAK_PLANS_DIR) comes first without
# hiding the shipped plans, and a missing one exits 2 before anything runs; and that the programs
# carry no source or build path: the lent GPU machine and an install run our build from elsewhere.
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
rm -rf "$prefix/share/gpusoak/plans" && mv "$prefix/shipped-plans" "$prefix/share/gpusoak/plans"

# A user's plans (--plans-dir, $GPUSOAK_PLANS_DIR) come before the shipped ones without hiding them:
# the user's smoke (2 phases; the shipped one has 4) wins the clash, the shipped plans stay listed.
mkdir mine
{
  echo "name: smoke"
  echo "sample_interval: 100ms"
  echo "phases:"
  for phase in first second; do
    printf '  - name: %s\n    duration: 300ms\n    scenarios:\n      - name: fragmentation\n' "$phase"
    printf '        params: {pool_chunk: 8MiB, max_block: 64KiB}\n'
  done
  echo 'thresholds: ["integrity_failures_total == 0"]'
} >mine/smoke.yaml
printf 'name: mine_only\nphases: [{name: a, duration: 1s, scenarios: [{name: fragmentation}]}]\n' >mine/mine_only.yaml
"$prefix/bin/gpusoak" soak smoke --plans-dir mine --db "$prefix/mine.db" >out.txt 2>&1 || { cat out.txt; exit 1; }
grep -q "plan smoke (2 phases" out.txt || { cat out.txt; echo "FAIL: --plans-dir's smoke should win over the shipped one"; exit 1; }
status=0
GPUSOAK_PLANS_DIR=mine "$prefix/bin/gpusoak" soak weekly >err.txt 2>&1 || status=$?
[ "$status" = 2 ] || { cat err.txt; echo "FAIL: a missing plan should exit 2, not $status"; exit 1; }
grep -qF "no plan named 'weekly' in mine or $prefix/share/gpusoak/plans; available: mine_only, nightly, release, smoke" err.txt ||
  { cat err.txt; echo "FAIL: the error should name both folders and list the plans of both"; exit 1; }
# The flag beats the variable; a folder that is not there is refused before anything runs.
status=0
GPUSOAK_PLANS_DIR="$prefix/no-such" "$prefix/bin/gpusoak" soak weekly --plans-dir mine >err.txt 2>&1 || status=$?
[ "$status" = 2 ] && grep -q "available: mine_only" err.txt || { cat err.txt; echo "FAIL: --plans-dir should beat \$GPUSOAK_PLANS_DIR"; exit 1; }
for program in gpusoak gpusoakd; do
  for how in flag variable; do
    status=0
    if [ "$program" = gpusoak ]; then set -- soak smoke --db "$prefix/bad.db"; else set -- --listen 127.0.0.1:0 --state-dir state; fi
    if [ "$how" = flag ]; then
      "$prefix/bin/$program" "$@" --plans-dir "$prefix/no-such" >err.txt 2>&1 || status=$?
      want="--plans-dir '$prefix/no-such': No such file or directory"
    else
      GPUSOAK_PLANS_DIR="$prefix/no-such" "$prefix/bin/$program" "$@" >err.txt 2>&1 || status=$?
      want="\$GPUSOAK_PLANS_DIR '$prefix/no-such': No such file or directory"
    fi
    [ "$status" = 2 ] && grep -qF -- "$want" err.txt ||
      { cat err.txt; echo "FAIL: $program with a missing plans folder ($how): want exit 2 and \"$want\", got $status"; exit 1; }
  done
done
[ ! -e state ] && [ ! -e "$prefix/bad.db" ] || { echo "FAIL: a bad plans folder must be refused before the run store is made"; exit 1; }

# The systemd unit and its settings, for this prefix.
unit="$prefix/lib/systemd/system/gpusoakd.service"
grep -qF "exec $prefix/bin/gpusoakd " "$unit" || { grep ExecStart "$unit"; echo "FAIL: the unit's ExecStart should run $prefix/bin/gpusoakd"; exit 1; }
grep -qx "EnvironmentFile=-$prefix/etc/default/gpusoakd" "$unit" || { echo "FAIL: the unit should read $prefix/etc/default/gpusoakd"; exit 1; }
for f in etc/default/gpusoakd lib/sysusers.d/gpusoak.conf share/gpusoak/prometheus/rules/gpusoak-alerts.yml \
  share/gpusoak/grafana/dashboards/gpusoak-fleet.json; do
  [ -e "$prefix/$f" ] || { echo "FAIL: the install has no $f"; exit 1; }
done
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
