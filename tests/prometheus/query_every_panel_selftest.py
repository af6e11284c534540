#!/usr/bin/env python3
"""Runs query_every_panel.py against a real Prometheus (Debian's) that scrapes
fake_gpusoakd_metrics.py, the contract of docs/metrics.md served as /metrics, with the shipped
rule files loaded. Three checks:

  1. every dashboard panel, variable and recording rule returns a series (the dashboards and
     rules fit the contract and promtool's parser is not the only judge);
  2. a dashboard with one panel planted on a metric that is not exported fails, naming that
     dashboard and panel;
  3. with gpusoak_live_bytes left out of /metrics, the panels and rules that read it fail.

Usage: query_every_panel_selftest.py --prometheus-bin /usr/bin/prometheus --repo DIR
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Stack:
    """A fake exporter and a Prometheus scraping it every second, in a temporary directory."""

    def __init__(self, args, tmp, omit=()):
        self.procs = []
        exporter_port, self.prom_port = free_port(), free_port()
        cmd = [sys.executable, os.path.join(HERE, "fake_gpusoakd_metrics.py"),
               "--metrics", os.path.join(args.repo, "docs/metrics.md"), "--port", str(exporter_port)]
        for m in omit:
            cmd += ["--omit", m]
        self.procs.append(subprocess.Popen(cmd))
        rules = [os.path.join(args.repo, "deploy/prometheus/rules", f)
                 for f in ("gpusoak-recording.yml", "gpusoak-alerts.yml")]
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                       "rule_files": rules,
                       "scrape_configs": [{"job_name": "gpusoak",
                                           "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}]}, f)
        self.procs.append(subprocess.Popen(
            [args.prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
             f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.url = f"http://127.0.0.1:{self.prom_port}"
        if not wait_http(self.url + "/-/ready", 30):
            self.close()
            raise RuntimeError("Prometheus did not become ready in 30 s")

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_series(url, promql, seconds):
    """True once the instant query returns a series; polls for up to seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}), timeout=5) as r:
                if json.load(r)["data"]["result"]:
                    return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    return False


def query(url, dashboards, repo, wait):
    cmd = [sys.executable, os.path.join(HERE, "query_every_panel.py"), "--prometheus", url,
           "--dashboards", dashboards, "--quiet", "--wait", str(wait),
           "--rules", os.path.join(repo, "deploy/prometheus/rules/gpusoak-recording.yml")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus-bin", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(HERE)))
    args = ap.parse_args()
    dashboards = os.path.join(args.repo, "dashboards")
    failures = []

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(args, tmp)
        try:
            # rate() and deriv() need two scrapes in the window; recorded series one evaluation.
            code, out = query(stack.url, dashboards, args.repo, wait=60)
            print(out)
            if code != 0:
                failures.append("the shipped dashboards and rules do not all return series")

            planted = os.path.join(tmp, "planted")
            os.mkdir(planted)
            with open(os.path.join(dashboards, "gpusoak-buffers.json")) as f:
                dash = json.load(f)
            panel = next(p for p in dash["panels"] if p.get("title") == "Live bytes")
            panel["targets"][0]["expr"] = 'gpusoak_live_bytes{gpu="no-such-gpu"}'
            with open(os.path.join(planted, "gpusoak-buffers.json"), "w") as f:
                json.dump(dash, f)
            code, out = query(stack.url, planted, args.repo, wait=0)
            print(out)
            if code != 1 or "EMPTY  dashboard 'gpusoak / Buffers and leaks' (gpusoak-buffers.json) panel 'Live bytes'" not in out:
                failures.append("a planted empty panel was not reported by dashboard and panel")
        finally:
            stack.close()

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(args, tmp, omit=["gpusoak_live_bytes"])
        try:
            # Wait until the rest answers (each rule group has recorded a series), then expect
            # exactly the three queries that read live bytes to fail, so a dead stack cannot pass.
            for canary in ("gpu_scenario_strategy:gpusoak_op_latency_seconds:p99_rate1m",
                           "gpu_scenario_strategy:gpusoak_op_latency_seconds:p99_first_hour",
                           "gpu:gpusoak_allocations:rate1m",
                           "instance:gpusoak_resident_memory_bytes:deriv1h_per_hour"):
                if not wait_series(stack.url, canary, 60):
                    failures.append(f"the stack without live bytes never recorded {canary}")
            code, out = query(stack.url, dashboards, args.repo, wait=0)
            print(out)
            expected = ["panel 'Live bytes' (id", "panel 'Live bytes slope, last hour (bytes per hour)'",
                        "recording rule gpu:gpusoak_live_bytes:deriv1h_per_hour"]
            if code != 1 or not all(e in out for e in expected) or ", 3 without series" not in out:
                failures.append(f"with gpusoak_live_bytes missing, expected exactly the failures {expected}")
        finally:
            stack.close()

    for f in failures:
        print(f"SELFTEST FAILED: {f}")
    print("query_every_panel_selftest:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
