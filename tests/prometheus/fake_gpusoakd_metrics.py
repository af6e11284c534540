#!/usr/bin/env python3
"""Serves a stand-in for gpusoakd's GET /metrics, generated from the contract in
docs/metrics.md: every metric with every label value the contract lists, counters growing and
gauges moving with time, one GPU ("0") mid-run.

It exists so the dashboards and rules can be run against a real Prometheus before (and
independently of) the daemon: query_every_panel_selftest.py scrapes it. It proves the queries
fit the contract, not that the daemon keeps it; the live test against gpusoakd does that.

Usage: fake_gpusoakd_metrics.py --metrics docs/metrics.md --port N [--omit METRIC ...]
(--omit leaves a metric out, to see a check that depends on it fail).
"""
import argparse
import itertools
import math
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dashboard_model as dm

# One value per label, several where the dashboards break series out by that label.
LABEL_VALUES = {
    "gpu": ["0"],
    "scenario": ["memory_pressure", "fragmentation", "multi_context", "oom", "leak_cycle", "conv2d_steady"],
    "strategy": ["persistent_coherent"],
    "path": ["staging_upload", "device_upload", "readback_copy", "gpu_copy", "cpu_memcpy"],
    "state": ["idle", "queued", "running", "passed", "failed", "could_not_run", "aborted", "interrupted"],
    "code": ["200"],
    "run": ["fake-run-1"], "plan": ["smoke"], "renderer": ["llvmpipe"], "driver": ["Mesa 22.3.6"],
    "vendor": ["mesa_software"], "version": ["0.1.0"], "mask": ["none"], "commit": ["c090ecf4fa14"],
    "plan_sha256": ["9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"],
}
BUCKETS = [m * 10.0 ** e for e in range(-6, 0) for m in (1, 2, 5)] + [1.0]   # 1-2-5, 1 µs .. 1 s


def value(name, labels, t, start):
    """A plausible value at t seconds since start (counters grow, gauges move)."""
    if name == "gpusoak_run_state":
        return 1.0 if labels.get("state") == "running" else 0.0
    if name == "gpusoak_last_sample_timestamp_seconds":
        return math.floor(start + t)
    if name == "gpusoak_run_progress_ratio":
        return min(1.0, t / 600)
    if name in ("gpusoak_run_elapsed_seconds",):
        return t
    if name == "gpusoak_run_phase_index":
        return float(int(t // 20) % 4)
    if name in ("gpusoak_live_bytes", "gpusoak_resident_memory_bytes"):
        return 64e6 + 1000 * t
    if name == "gpusoak_live_buffers":
        return 100 + (int(t) % 7)
    if name == "gpusoak_pool_fragmentation_ratio":
        return 0.2 + 0.1 * math.sin(t / 10)
    if name == "gpusoak_leak_slope_bytes_per_hour":
        return 1000.0
    if name in ("gpusoak_hot_path_copies_total", "gpusoak_integrity_failures_total",
                "gpusoak_scenario_failures_total", "gpusoak_watchdog_resets_total"):
        return 0.0                                     # healthy: stays at 0, the series exists
    if name.endswith("_info"):
        return 1.0
    return math.floor(10 * t)                          # other counters: 10 a second


def exposition(contract, omit, start):
    t = time.time() - start
    lines = []
    for name, labels in sorted(contract.items()):
        base = name.rsplit("_", 1)[0] if name.endswith(("_bucket", "_sum", "_count")) else name
        if name in omit or base in omit:
            continue
        keys = sorted(labels - {"le"})
        for combo in itertools.product(*(LABEL_VALUES[k] for k in keys)):
            lab = dict(zip(keys, combo))
            if name.endswith("_bucket"):
                # 20 ops a second, spread so each bucket from 10 µs up holds some.
                for le in BUCKETS + [math.inf]:
                    frac = 1.0 if le == math.inf else min(1.0, max(0.0, math.log10(le / 1e-5) / 3))
                    lines.append(series(name, {**lab, "le": "+Inf" if le == math.inf else repr(le)},
                                        math.floor(20 * t * frac)))
            elif name.endswith("_count"):
                lines.append(series(name, lab, math.floor(20 * t)))
            elif name.endswith("_sum"):
                lines.append(series(name, lab, 20 * t * 1e-3))
            else:
                lines.append(series(name, lab, value(name, lab, t, start)))
    return "\n".join(lines) + "\n"


def series(name, labels, v):
    body = ",".join(f'{k}="{val}"' for k, val in sorted(labels.items()))
    return f"{name}{{{body}}} {v}" if body else f"{name} {v}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metrics", required=True, help="docs/metrics.md")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--omit", action="append", default=[], help="metric to leave out")
    args = ap.parse_args()
    contract, start = dm.load_contract(args.metrics), time.time()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/metrics":
                body, ctype = exposition(contract, set(args.omit), start).encode(), "text/plain; version=0.0.4"
            elif self.path == "/healthz":
                body, ctype = b"ok\n", "text/plain"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
