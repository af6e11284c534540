#!/bin/sh
# checks the harness's link boundaries in the built programs (harness/CMakeLists.txt): gpusoakd
# carries no fleet, PromQL or bench code, gpusoak no HTTP server; and that the check sees symbols
# at all (each program's own entry point), so an empty or stripped binary cannot pass.
# Usage: link_boundaries_test.sh GPUSOAK GPUSOAKD
set -eu
gpusoak=$1 gpusoakd=$2
symbols() { nm -C "$1" | sed 's/^[0-9a-f ]*[A-Za-z] //'; }
fail=0
check_has() {  # binary what pattern
  symbols "$1" | grep -Eq "$3" || { echo "FAIL: $(basename "$1") has no $2 ($3): cannot check its boundaries"; fail=1; }
}
check_lacks() {  # binary what pattern
  found=$(symbols "$1" | grep -E "$3" | head -3)
  if [ -n "$found" ]; then echo "FAIL: $(basename "$1") links $2:"; echo "$found"; fail=1; fi
}
check_has "$gpusoakd" "daemon entry point" 'gpusoak::harness::daemon_main\('
check_has "$gpusoak" "CLI entry point" 'gpusoak::harness::run_cli\('
check_lacks "$gpusoakd" "fleet code" 'gpusoak::harness::(run_fleet|fleet_|read_fleet_targets|detail::fleet)'
check_lacks "$gpusoakd" "PromQL code" 'gpusoak::harness::.*promql'
check_lacks "$gpusoakd" "bench code" 'gpusoak::bench::'
check_lacks "$gpusoakd" "CLI commands" 'gpusoak::harness::[a-z_]+_command\('
check_lacks "$gpusoak" "the HTTP server" 'gpusoak::harness::(http_server|handle_request)'
check_lacks "$gpusoak" "the daemon" 'gpusoak::harness::(daemon_main|run_manager|daemon_metrics)'
[ $fail = 0 ] && echo "link boundaries hold"
exit $fail
