#!/usr/bin/env python3
"""Shows that the deploy/dashboard checks can fail: for each case, copy the shipped files into a
temporary tree with the repository's layout, plant one error, run the check that should catch
it, and require a non-zero exit and the expected message. Each check first runs on the clean
copy and must pass, so a failure is the plant's doing.

Usage: planted_errors_test.py --repo DIR [--promtool PATH] [--case SUBSTRING]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)


def checks(root, promtool):
    """The checks, by name: argv run in the copied tree."""
    py = sys.executable
    rules = sorted(glob.glob(f"{root}/deploy/prometheus/rules/*.yml"))
    return {
        "dashboards": [py, f"{TESTS}/prometheus/check_dashboards.py", "--dashboards", f"{root}/dashboards",
                       "--metrics", f"{root}/docs/metrics.md", "--promtool", promtool, "--rules", *rules],
        "rules": [promtool, "check", "rules", *rules],
        "alert tests": [promtool, "test", "rules", f"{root}/tests/prometheus/gpusoak-alerts.test.yml"],
        "recording tests": [promtool, "test", "rules", f"{root}/tests/prometheus/gpusoak-recording.test.yml"],
        "prometheus config": [f"{HERE}/check_prometheus_config.sh", promtool, f"{root}/deploy"],
        "systemd": [py, f"{HERE}/check_systemd_unit.py", "--unit", f"{root}/deploy/systemd/gpusoakd.service",
                    "--env", f"{root}/deploy/systemd/gpusoakd.default",
                    "--sysusers", f"{root}/deploy/systemd/gpusoak.sysusers.conf"],
        "deploy yaml": [py, f"{HERE}/check_deploy_yaml.py", "--deploy", f"{root}/deploy"],
    }


def replace(path, old, new):
    def plant(root):
        p = os.path.join(root, path)
        with open(p) as f:
            text = f.read()
        if old not in text:
            raise AssertionError(f"plant is stale: {old!r} not in {path}")
        with open(p, "w") as f:
            f.write(text.replace(old, new, 1))
    return plant


def edit_json(path, fn):
    def plant(root):
        p = os.path.join(root, path)
        with open(p) as f:
            dash = json.load(f)
        fn(dash)
        with open(p, "w") as f:
            json.dump(dash, f)
    return plant


def panel(dash, title):
    return next(p for p in dash["panels"] if p.get("title") == title)


def drop_var(name):
    return lambda d: d["templating"].__setitem__("list", [v for v in d["templating"]["list"] if v["name"] != name])


BUF, FLEET = "dashboards/gpusoak-buffers.json", "dashboards/gpusoak-fleet.json"
ALERTS, REC = "deploy/prometheus/rules/gpusoak-alerts.yml", "deploy/prometheus/rules/gpusoak-recording.yml"
UNIT = "deploy/systemd/gpusoakd.service"

# (name, check, plant, expected message)
CASES = [
    ("dashboard without uid", "dashboards", edit_json(FLEET, lambda d: d.pop("uid")), "missing uid"),
    ("duplicate panel id", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes").__setitem__("id", panel(d, "Live buffers")["id"])), "also used by panel"),
    ("panel off the grid", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes")["gridPos"].update(x=20)), "outside the 24-column grid"),
    ("overlapping panels", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes").__setitem__("gridPos", dict(panel(d, "Live buffers")["gridPos"]))), "overlaps"),
    ("unknown metric", "dashboards", replace(BUF, "gpusoak_live_bytes{", "gpusoak_live_bytez{"), "unknown metric 'gpusoak_live_bytez'"),
    ("label the metric lacks", "dashboards",
     replace(BUF, 'gpusoak_resident_memory_bytes{instance=~\\"$instance\\"}', 'gpusoak_resident_memory_bytes{instance=~\\"$instance\\", gpu=~\\"$gpu\\"}'),
     "gpusoak_resident_memory_bytes has no label 'gpu'"),
    ("no datasource variable", "dashboards", edit_json(FLEET, drop_var("datasource")), "no datasource variable"),
    ("hard-coded datasource", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes").__setitem__("datasource", {"type": "prometheus", "uid": "P1234"})),
     "is not the prometheus datasource variable"),
    ("no schemaVersion", "dashboards", edit_json(FLEET, lambda d: d.pop("schemaVersion")), "schemaVersion None"),
    ("PromQL that does not parse", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes")["targets"][0].__setitem__("expr", "sum(rate(gpusoak_frees_total[1m])")),
     "promtool cannot parse"),
    ("no run variable", "dashboards", edit_json(FLEET, drop_var("run")), "missing variable 'run'"),
    ("duplicate dashboard uid", "dashboards",
     edit_json(BUF, lambda d: d.__setitem__("uid", "gpusoak-fleet")), "dashboard uid 'gpusoak-fleet' also used by"),
    ("target without expr", "dashboards",
     edit_json(BUF, lambda d: panel(d, "Live bytes")["targets"][0].__setitem__("expr", "")), "has no expr"),
    ("dashboard not JSON", "dashboards", replace(BUF, "{", "{,"), "not valid JSON"),
    ("alert rule that does not parse", "rules",
     replace(ALERTS, "increase(gpusoak_integrity_failures_total[15m]) > 0", "increase(gpusoak_integrity_failures_total[15m] > 0"),
     "FAILED"),
    ("hot-path alert blind to one copy", "alert tests",
     replace(ALERTS, "increase(gpusoak_hot_path_copies_total[15m]) > 0", "increase(gpusoak_hot_path_copies_total[15m]) > 1"),
     "alertname: GpusoakHotPathCopy"),
    ("OOM alert without for", "alert tests", replace(ALERTS, "        for: 5m\n        labels: {severity: critical}\n        annotations:\n          summary: \"Out-of-memory",
                                                     "        labels: {severity: critical}\n        annotations:\n          summary: \"Out-of-memory"),
     "alertname: GpusoakOomNotRecovered"),
    ("latency alert at 20x", "alert tests", replace(ALERTS, "> 2 * gpu_scenario_strategy", "> 20 * gpu_scenario_strategy"),
     "alertname: GpusoakLatencyRegression"),
    ("leak alert across restarts", "alert tests",
     replace(ALERTS, "            unless on (instance) (resets(gpusoak_http_requests_total[2h]) > 0)\n", ""),
     "alertname: GpusoakLiveBytesLeak"),
    ("stall alert while not running", "alert tests",
     replace(ALERTS, "(time() - gpusoak_last_sample_timestamp_seconds > 300)\n            and on (instance, gpu) (gpusoak_run_state{state=\"running\"} == 1)",
             "(time() - gpusoak_last_sample_timestamp_seconds > 300)"),
     "alertname: GpusoakRunStalled"),
    ("daemon-down alert without for", "alert tests", replace(ALERTS, "expr: up{job=\"gpusoak\"} == 0\n        for: 2m", "expr: up{job=\"gpusoak\"} == 0"),
     "alertname: GpusoakDaemonDown"),
    ("p99 rule computing p95", "recording tests",
     replace(REC, "histogram_quantile(0.99, gpu_scenario_strategy", "histogram_quantile(0.95, gpu_scenario_strategy"), "p99_rate1m"),
    ("baseline rule that forgets", "recording tests",
     replace(REC, "          or\n          (\n            gpu_scenario_strategy:gpusoak_op_latency_seconds:p99_first_hour\n              unless on (instance, gpu) (gpusoak_run_elapsed_seconds <= 3600)\n          )\n", ""),
     "p99_first_hour"),
    ("bad file_sd target list", "prometheus config", replace("deploy/prometheus/targets/gpusoak-lab.yml", "- targets:", "- targetz:"), "targetz"),
    ("missing rule file", "prometheus config", replace("deploy/prometheus/prometheus.yml", "rules/gpusoak-alerts.yml", "rules/gpusoak-alert.yml"),
     "gpusoak-alert.yml"),
    ("misspelt unit key", "systemd", replace(UNIT, "\nProtectSystem=strict\n", "\nProtectSytem=strict\n"), "Unknown key 'ProtectSytem'"),
    ("hardening removed", "systemd",
     lambda root: [replace(UNIT, line + "\n", "")(root) for line in
                   ("NoNewPrivileges=yes", "CapabilityBoundingSet=", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "RestrictNamespaces=yes",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "DevicePolicy=closed",
                    "SystemCallArchitectures=native", "ProtectControlGroups=yes")],
     "exposure above"),
    ("runs as root", "systemd", replace(UNIT, "\nUser=gpusoak\n", "\nUser=root\n"), "non-root user"),
    ("no user at all", "systemd", replace(UNIT, "\nUser=gpusoak\n", "\n"), "non-root user"),
    ("NoNewPrivileges alone dropped", "systemd", replace(UNIT, "\nNoNewPrivileges=yes\n", "\n"), "NoNewPrivileges=yes is missing"),
    ("a capability granted", "systemd", replace(UNIT, "\nCapabilityBoundingSet=\n", "\nCapabilityBoundingSet=CAP_SYS_ADMIN\n"),
     "CapabilityBoundingSet= must be empty"),
    ("token flag always passed", "systemd",
     replace(UNIT, '$${GPUSOAKD_TOKEN_FILE:+--token-file "$$GPUSOAKD_TOKEN_FILE"}', '--token-file "$$GPUSOAKD_TOKEN_FILE"'),
     "ExecStart with"),
    ("Service selecting nothing", "deploy yaml",
     replace("deploy/kubernetes/gpusoakd-service.yaml", "  selector:\n    app.kubernetes.io/name: gpusoakd", "  selector:\n    app.kubernetes.io/name: gpusoak"),
     "Service selector does not select"),
    ("Service renamed", "deploy yaml", replace("deploy/kubernetes/gpusoakd-service.yaml", "  name: gpusoak\n", "  name: gpusoakd\n"),
     "must be named gpusoak"),
    ("compose mount of a missing path", "deploy yaml", replace("deploy/compose/compose.yml", "../prometheus/rules:", "../prometheus/rulez:"),
     "does not exist"),
    ("ServiceMonitor on an unnamed port", "deploy yaml",
     replace("deploy/kubernetes/gpusoakd-servicemonitor.yaml", "    - port: metrics", "    - port: http"), "endpoint port http"),
]


def copy_tree(repo, root):
    for d in ("dashboards", "deploy"):
        shutil.copytree(os.path.join(repo, d), os.path.join(root, d))
    os.makedirs(os.path.join(root, "docs"))
    shutil.copy(os.path.join(repo, "docs/metrics.md"), os.path.join(root, "docs"))
    os.makedirs(os.path.join(root, "tests/prometheus"))
    for f in glob.glob(os.path.join(repo, "tests/prometheus/*.test.yml")):
        shutil.copy(f, os.path.join(root, "tests/prometheus"))


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repo", default=os.path.dirname(TESTS))
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--case", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    failures = []

    with tempfile.TemporaryDirectory() as tmp:
        clean = os.path.join(tmp, "clean")
        copy_tree(args.repo, clean)
        for name, argv in checks(clean, args.promtool).items():
            code, out = run(argv)
            if code != 0:
                failures.append(f"clean copy: check {name!r} fails before anything is planted:\n{out}")
        for i, (name, check, plant, expected) in enumerate(c for c in CASES if args.case in c[0]):
            root = os.path.join(tmp, f"case{i}")
            copy_tree(args.repo, root)
            try:
                plant(root)
            except (AssertionError, StopIteration, KeyError) as e:
                failures.append(f"{name}: could not plant: {e}")
                continue
            code, out = run(checks(root, args.promtool)[check])
            caught = code != 0 and expected in out
            print(f"{'caught' if caught else 'MISSED'}  {name} ({check}): exit {code}")
            if not caught:
                failures.append(f"{name}: check {check!r} exited {code}, expected non-zero with {expected!r}; output:\n{out}")
    for f in failures:
        print(f"FAIL  {f}")
    print(f"planted_errors_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
