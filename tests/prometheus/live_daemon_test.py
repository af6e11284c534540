#!/usr/bin/env python3
"""The dashboards and rules against the real thing: a live gpusoakd running the smoke plan,
scraped by Debian's prometheus with the shipped rule files loaded.

  1. gpusoakd on 127.0.0.1 port 0 (it writes the bound address to STATE/address) and prometheus
     on a free loopback port, scraping it every second (job "gpusoak", as the alerts expect),
     evaluating deploy/prometheus/rules/*.yml every second, storage in a temporary directory;
  2. once the target is up, POST the smoke plan at time scale 0.1 and wait for the run to end
     and for Prometheus to have scraped its final state;
  3. every rule group of the rule files loaded and every rule evaluated with health ok
     (/api/v1/rules), the target up (/api/v1/targets), and the run's own series present
     (gpusoak_run_info{run=ID}, a runs-finished increase of 1 for its final state);
  4. query_every_panel.py: every dashboard panel, variable and recording rule returns a series;
     failures name dashboard and panel;
  5. the same run with one panel planted on a series that does not exist must fail naming that
     panel, so a vacuous pass (wrong Prometheus, nothing queried) cannot hide.

fake_gpusoakd_metrics.py proves the queries fit the contract in docs/metrics.md; this proves the
daemon keeps it. Both processes die with this script (PR_SET_PDEATHSIG), even when ctest kills it
at its timeout; the whole test is bounded by --budget seconds.

Usage: live_daemon_test.py --gpusoakd BIN --prometheus-bin BIN --repo DIR [--budget SECONDS]
Exit status: 0 every check passed, 1 some failed (each printed as FAILED: ...).
"""
import argparse
import ctypes
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import dashboard_model as dm

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL_STATES = ("passed", "failed", "aborted", "could_not_run")


def die_with_parent():
    """In the child before exec: SIGKILL it when this script dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, body=None, timeout=10):
    """(status, parsed JSON or None when the body is not JSON); status 0 when nothing answered."""
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def poll(what, seconds, fn, interval=0.5):
    """Calls fn until it returns something truthy; raises naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f} s")
        time.sleep(interval)


def promql(prom, expr):
    status, body = http_json(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return body["data"]["result"] if status == 200 and body and body.get("status") == "success" else []


class Processes:
    """gpusoakd and prometheus, each with its log file; stopped in reverse order on close."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, log_path):
        with open(log_path, "ab") as log:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=die_with_parent)
        self.procs.append((p, log_path))
        return p

    def close(self):
        for p, _ in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def logs(self):
        out = []
        for p, path in self.procs:
            with open(path, errors="replace") as f:
                tail = f.read()[-4000:]
            out.append(f"--- {os.path.basename(path)} (exit {p.poll()}), last 4000 characters:\n{tail}")
        return "\n".join(out)


def start_daemon(procs, gpusoakd, tmp):
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    daemon = procs.start([gpusoakd, "--listen", "127.0.0.1:0", "--state-dir", state],
                         os.path.join(tmp, "gpusoakd.log"))

    def address():
        if daemon.poll() is not None:
            raise RuntimeError(f"gpusoakd exited with {daemon.returncode} while starting")
        try:
            with open(os.path.join(state, "address")) as f:
                text = f.read().strip()
        except OSError:
            return None
        return text if text and http_json(f"http://{text}/healthz")[0] == 200 else None

    return poll("gpusoakd writes its address and answers /healthz", 30, address, 0.1)


def start_prometheus(procs, prometheus_bin, tmp, daemon_address, rule_glob):
    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:  # JSON is YAML
        json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                   "rule_files": [rule_glob],
                   "scrape_configs": [{"job_name": "gpusoak",
                                       "static_configs": [{"targets": [daemon_address]}]}]}, f, indent=2)
    procs.start([prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp}/prometheus-data",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                os.path.join(tmp, "prometheus.log"))
    url = f"http://127.0.0.1:{port}"
    poll("prometheus is ready", 30, lambda: http_json(url + "/-/ready")[0] == 200 or None)
    return url


def target_up(prom, daemon_address):
    """None when the gpusoak target is up, else what is wrong."""
    _, body = http_json(prom + "/api/v1/targets")
    targets = [t for t in ((body or {}).get("data") or {}).get("activeTargets", [])
               if t.get("labels", {}).get("job") == "gpusoak"]
    if len(targets) != 1:
        return f"expected one active target of job gpusoak, got {len(targets)}"
    t = targets[0]
    if t.get("health") != "up" or t.get("labels", {}).get("instance") != daemon_address:
        return f"target {t.get('scrapeUrl')} health {t.get('health')}: {t.get('lastError') or '-'}"
    return None


def rules_problems(prom, rule_files):
    """[] when every group of the rule files is loaded and each of its rules evaluated ok."""
    expected = {}
    for _, group, _ in dm.load_rules(rule_files):
        expected[group] = expected.get(group, 0) + 1
    _, body = http_json(prom + "/api/v1/rules")
    loaded = {g["name"]: g for g in ((body or {}).get("data") or {}).get("groups", [])}
    problems = []
    for name, count in sorted(expected.items()):
        group = loaded.get(name)
        if group is None:
            problems.append(f"rule group {name} not loaded")
            continue
        if len(group["rules"]) != count:
            problems.append(f"rule group {name}: {len(group['rules'])} rules loaded, the file has {count}")
        for rule in group["rules"]:
            if rule.get("health") != "ok":
                problems.append(f"rule group {name} rule {rule.get('name')}: health {rule.get('health')}"
                                f" {rule.get('lastError', '')}".rstrip())
    return problems


def run_smoke(daemon_url, seconds):
    status, body = http_json(daemon_url + "/api/v1/runs", {"plan": "smoke", "time_scale": 0.1})
    if status != 201:
        raise RuntimeError(f"POST /api/v1/runs answered {status}: {body}")
    run_id = body["id"]

    def final():
        _, run = http_json(f"{daemon_url}/api/v1/runs/{run_id}")
        return run if run and run.get("state") in FINAL_STATES else None

    return run_id, poll(f"run {run_id} ends", seconds, final)["state"]


def query_every_panel(prom, dashboards, rule_files, wait):
    cmd = [sys.executable, os.path.join(HERE, "query_every_panel.py"), "--prometheus", prom,
           "--dashboards", dashboards, "--quiet", "--wait", str(wait), "--rules", *rule_files]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=wait + 60)
    return r.returncode, r.stdout + r.stderr


def plant_empty_panel(dashboards, tmp):
    """A copy of the dashboards with the Live bytes panel reading a GPU that does not exist."""
    planted = os.path.join(tmp, "planted")
    shutil.copytree(dashboards, planted)
    path = os.path.join(planted, "gpusoak-buffers.json")
    with open(path) as f:
        dash = json.load(f)
    panel = next(p for p in dm.iter_panels(dash) if p.get("title") == "Live bytes")
    panel["targets"][0]["expr"] = 'gpusoak_live_bytes{gpu="no-such-gpu"}'
    with open(path, "w") as f:
        json.dump(dash, f)
    return planted


def checks(args, procs, tmp, failures):
    dashboards = os.path.join(args.repo, "dashboards")
    rule_glob = os.path.join(args.repo, "deploy/prometheus/rules/*.yml")
    rule_files = sorted(glob.glob(rule_glob))
    if not rule_files:
        raise RuntimeError(f"no rule files match {rule_glob}")

    address = start_daemon(procs, args.gpusoakd, tmp)
    daemon_url = f"http://{address}"
    prom = start_prometheus(procs, args.prometheus_bin, tmp, address, rule_glob)
    print(f"gpusoakd at {daemon_url}, prometheus at {prom}")
    # Start the run only once Prometheus has scraped the idle daemon, so counters created at 0 by
    # the run's start are seen before they grow (increase() needs that first sample).
    poll("the gpusoak target is up", 30, lambda: target_up(prom, address) is None)
    time.sleep(2)

    started = time.monotonic()
    run_id, state = run_smoke(daemon_url, 90)
    print(f"run {run_id} ended {state} after {time.monotonic() - started:.1f} s")
    if state == "could_not_run":
        failures.append(f"run {run_id} could not run; the daemon's log says why")
    poll("prometheus scraped the run's final state", 20,
         lambda: promql(prom, f'gpusoak_run_state{{job="gpusoak", state="{state}"}} == 1'))
    time.sleep(3)  # a few more scrapes and rule evaluations after the end

    # Rules report health "unknown" until their first evaluation: retry briefly.
    deadline = time.monotonic() + 30
    while (problems := rules_problems(prom, rule_files)) and time.monotonic() < deadline:
        time.sleep(1)
    failures += problems
    if problem := target_up(prom, address):
        failures.append(problem)
    if not promql(prom, f'gpusoak_run_info{{job="gpusoak", run="{run_id}"}}'):
        failures.append(f"no gpusoak_run_info series for run {run_id}")
    # The counter series of the final state exists at 0 from the run's start, so the run shows up
    # as an increase of 1 (a series born at 1 would read as an increase of 0).
    finished = promql(prom, f'increase(gpusoak_runs_finished_total{{job="gpusoak", state="{state}"}}[1h])')
    if not finished or float(finished[0]["value"][1]) < 0.5:
        failures.append(f"runs_finished_total{{state={state}}} did not grow by 1 over the run: {finished}")

    code, out = query_every_panel(prom, dashboards, rule_files, wait=30)
    print(out)
    if code != 0:
        failures.append("some dashboard panels or recording rules returned no series (EMPTY/ERROR above)")
        return  # the planted check below would only repeat these failures

    code, out = query_every_panel(prom, plant_empty_panel(dashboards, tmp), rule_files, wait=0)
    expected = "EMPTY  dashboard 'gpusoak / Buffers and leaks' (gpusoak-buffers.json) panel 'Live bytes'"
    if code != 1 or expected not in out or ", 1 without series" not in out:
        failures.append(f"a planted empty panel was not the one failure reported:\n{out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpusoakd", required=True, help="the gpusoakd binary")
    ap.add_argument("--prometheus-bin", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--budget", type=int, default=170, help="seconds before the test gives up (default 170)")
    args = ap.parse_args()
    # Prometheus resolves rule_files against its config file's directory (the temporary one).
    args.repo = os.path.abspath(args.repo)

    def out_of_time(signum, frame):
        raise TimeoutError(f"the test ran past its budget of {args.budget} s")

    # SIGALRM bounds the whole test; SIGTERM (ctest, a user) ends it through the same cleanup.
    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(f"live_daemon_test: terminated by signal {s}"))
    signal.alarm(args.budget)
    failures = []
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="gpusoak-live-") as tmp:
        try:
            checks(args, procs, tmp, failures)
        except (TimeoutError, RuntimeError, subprocess.TimeoutExpired) as e:
            failures.append(str(e))
        finally:
            signal.alarm(0)
            procs.close()
            if failures:
                print(procs.logs())
    for f in failures:
        print(f"FAILED: {f}")
    print("live_daemon_test:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
