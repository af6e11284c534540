#!/usr/bin/env python3
"""Runs every PromQL expression of every Grafana dashboard panel, every dashboard variable
query and every recording rule against a live Prometheus, and fails naming the dashboard and
panel (or rule) whose query returned no series.

It proves the dashboards and rules fit what a real gpusoakd exports: run it after Prometheus
has scraped a daemon that ran a plan (the smoke plan runs every scenario). A query counts as
answered when it returns at least one series, whatever its value (0 and NaN included: a hot-path
copy counter at 0 is the healthy answer).

Substitutions, done the way Grafana would for the "All" selection:
  $instance, $gpu, $run and any other dashboard variable  ->  .*   (or --var NAME=VALUE)
  $__rate_interval, $__interval                           ->  --interval (default 1m)
  $__range                                                ->  --range (default 1h)
  $__range_s, $__range_ms, $__interval_ms                 ->  the same, in seconds/milliseconds
Variable queries label_values(METRIC{...}, LABEL) run as `group by (LABEL) (METRIC{...})`.
Alert rules are not queried: a healthy system is meant to return nothing for them.

Every query is instant, at --time (default: now). Recording rules need one evaluation before
their series exist, so --wait SECONDS retries the failing queries until they answer or the time
is up.

Examples:
  query_every_panel.py --prometheus http://127.0.0.1:9090 \\
      --dashboards dashboards --rules deploy/prometheus/rules/*.yml
  query_every_panel.py --prometheus http://prom:9090 --var instance=lab3:9464 --var gpu=0 \\
      --dashboards dashboards --rules deploy/prometheus/rules/gpusoak-recording.yml --wait 60

Exit status: 0 every query returned a series; 1 some returned none or failed (each listed as
EMPTY or ERROR with dashboard and panel); 2 bad arguments or unreadable files.
"""
import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import dashboard_model as dm


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 1m, 6h")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def collect_queries(dashboards, rules, values):
    """[(where, promql)]: panel targets, variable queries, then recording rules."""
    queries = []
    for name, dash in dashboards:
        title = dash.get("title", name)
        for var in dm.variables(dash):
            if var.get("type") != "query":
                continue
            q = dm.variable_query(var)
            m = re.match(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", q)
            promql = f"group by ({m.group(2)}) ({m.group(1)})" if m else q
            queries.append((f"dashboard {title!r} ({name}) variable ${var.get('name')}",
                            dm.substitute(promql, values)))
        for panel in dm.iter_panels(dash):
            for t in panel.get("targets") or []:
                expr = str(t.get("expr", "")).strip()
                if expr:
                    queries.append((f"dashboard {title!r} ({name}) panel {panel.get('title')!r} "
                                    f"(id {panel.get('id')}) target {t.get('refId')}",
                                    dm.substitute(expr, values)))
    for path, group, rule in rules:
        if "record" in rule:
            queries.append((f"recording rule {rule['record']} (group {group}, {path})", rule["expr"]))
    return queries


def instant_query(base_url, promql, at, timeout):
    """Returns (number of series, None) or (None, error text)."""
    form = {"query": promql}
    if at is not None:
        form["time"] = f"{at:.3f}"
    req = urllib.request.Request(base_url.rstrip("/") + "/api/v1/query",
                                 data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return None, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, f"cannot query Prometheus: {e}"
    if body.get("status") != "success":
        return None, f"{body.get('errorType', 'error')}: {body.get('error', body)}"
    data = body.get("data", {})
    result = data.get("result", [])
    if data.get("resultType") in ("scalar", "string"):
        return 1, None
    return len(result), None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus", required=True, metavar="URL", help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--dashboards", required=True, metavar="DIR", help="directory of Grafana dashboard JSON files")
    ap.add_argument("--rules", nargs="*", default=[], metavar="FILE", help="Prometheus rule files; their recording rules are queried")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="value for a dashboard variable instead of .*")
    ap.add_argument("--interval", default="1m", metavar="DURATION", help="what $__rate_interval and $__interval become (default 1m)")
    ap.add_argument("--range", dest="range_", default="1h", metavar="DURATION", help="what $__range becomes (default 1h)")
    ap.add_argument("--time", type=float, help="Unix time to evaluate at (default: Prometheus' now)")
    ap.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="retry failing queries for up to this long")
    ap.add_argument("--timeout", type=float, default=30, help="seconds per HTTP request (default 30)")
    ap.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    args = ap.parse_args(argv)

    try:
        interval_s, range_s = duration_seconds(args.interval), duration_seconds(args.range_)
        values = dict(v.split("=", 1) for v in args.var)
    except (argparse.ArgumentTypeError, ValueError) as e:
        print(f"query_every_panel: {e or 'bad --var, expected NAME=VALUE'}", file=sys.stderr)
        return 2
    builtins = {"__rate_interval": args.interval, "__interval": args.interval, "__range": args.range_,
                "__interval_ms": str(int(interval_s * 1000)), "__range_ms": str(int(range_s * 1000)),
                "__range_s": str(int(range_s))}
    values = {**builtins, **values}
    try:
        queries = collect_queries(dm.load_dashboards(args.dashboards), dm.load_rules(args.rules), values)
    except (OSError, ValueError) as e:
        print(f"query_every_panel: {e}", file=sys.stderr)
        return 2
    if not queries:
        print("query_every_panel: nothing to query", file=sys.stderr)
        return 2

    deadline = time.monotonic() + args.wait
    pending = list(queries)
    while True:
        failed = []
        for where, promql in pending:
            n, err = instant_query(args.prometheus, promql, args.time, args.timeout)
            if err or not n:
                failed.append((where, promql, n, err))
            elif not args.quiet:
                print(f"ok     {where}: {n} series")
        if not failed or time.monotonic() >= deadline:
            break
        pending = [(w, q) for w, q, _, _ in failed]
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
    for where, promql, n, err in failed:
        kind = "ERROR" if err else "EMPTY"
        print(f"{kind}  {where}: {err or 'no series'}\n       query: {promql}")
    print(f"query_every_panel: {len(queries)} queries, {len(failed)} without series")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
