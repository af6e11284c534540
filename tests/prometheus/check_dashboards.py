#!/usr/bin/env python3
"""Checks that every Grafana dashboard in a directory has what Grafana needs to import it and
queries only metrics that exist.

For each dashboard: uid (unique, Grafana's 40-character alphabet), title (unique),
schemaVersion, a `datasource` variable of type datasource/prometheus, the instance, gpu and run
query variables, unique panel ids, gridPos inside the 24-column grid without overlaps, every
panel and target on the datasource variable, every target with a refId and an expr, and every
expr (and variable query) reading only metric names from docs/metrics.md, recording-rule names,
or `up`, with label matchers the metric has. With --promtool, every expr (variables substituted)
is also parsed by promtool's own PromQL parser.

Exit status 0 when all pass; 1 with one line per problem, naming dashboard and panel.
Usage: check_dashboards.py --dashboards DIR --metrics docs/metrics.md --rules FILE... [--promtool PATH]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import yaml

import dashboard_model as dm

SCHEMA_MIN, SCHEMA_MAX = 36, 41          # Grafana 9.x .. 11.x
REQUIRED_VARIABLES = ("instance", "gpu", "run")
PANEL_TYPES = {"row", "timeseries", "stat", "table", "heatmap", "bargauge", "gauge",
               "state-timeline", "status-history", "barchart", "text", "piechart"}
UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


def check_dashboard(name, dash, allowed, problems):
    def bad(where, msg):
        problems.append(f"{name}: {where}: {msg}")

    for key in ("uid", "title"):
        if not isinstance(dash.get(key), str) or not dash.get(key):
            bad("dashboard", f"missing {key}")
    if isinstance(dash.get("uid"), str) and dash["uid"] and not UID.match(dash["uid"]):
        bad("dashboard", f"uid {dash['uid']!r} is not 1-40 of [a-zA-Z0-9_-]")
    sv = dash.get("schemaVersion")
    if not isinstance(sv, int) or not SCHEMA_MIN <= sv <= SCHEMA_MAX:
        bad("dashboard", f"schemaVersion {sv!r} not an int in {SCHEMA_MIN}..{SCHEMA_MAX}")

    variables = {v.get("name"): v for v in dm.variables(dash)}
    ds_vars = [v for v in variables.values()
               if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds_vars:
        bad("templating", "no datasource variable of type datasource with query prometheus")
        ds_names = set()
    else:
        ds_names = {v["name"] for v in ds_vars}
    if "datasource" not in ds_names:
        bad("templating", "the datasource variable must be named 'datasource'")
    ds_refs = {f"${n}" for n in ds_names} | {f"${{{n}}}" for n in ds_names}

    def check_ds(where, ds):
        if not isinstance(ds, dict) or ds.get("type") != "prometheus" or ds.get("uid") not in ds_refs:
            bad(where, f"datasource {ds!r} is not the prometheus datasource variable")

    def check_expr(where, expr):
        for metric in sorted(dm.metric_names(dm.substitute(expr))):
            if metric not in allowed:
                bad(where, f"unknown metric {metric!r} (not in docs/metrics.md, the recording rules or up)")
        for metric, labels in dm.selectors(dm.substitute(expr)):
            if metric is None or allowed.get(metric) is None:
                continue          # recorded series: labels checked through their rules
            for label in labels:
                if label not in allowed[metric] | dm.TARGET_LABELS:
                    bad(where, f"{metric} has no label {label!r}")

    for vname in REQUIRED_VARIABLES:
        var = variables.get(vname)
        if var is None:
            bad("templating", f"missing variable {vname!r}")
            continue
        if var.get("type") != "query":
            bad(f"variable {vname}", "is not a query variable")
    for vname, var in variables.items():
        if var.get("type") != "query":
            continue
        check_ds(f"variable {vname}", var.get("datasource"))
        q = dm.variable_query(var)
        m = re.match(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", q)
        if not m:
            bad(f"variable {vname}", f"query {q!r} is not label_values(metric, label)")
            continue
        check_expr(f"variable {vname}", m.group(1))

    ids, boxes = {}, []
    for panel in dm.iter_panels(dash):
        title = panel.get("title", "?")
        pid = panel.get("id")
        where = f"panel {title!r} (id {pid})"
        if not isinstance(pid, int):
            bad(where, "id is not an integer")
        elif pid in ids:
            bad(where, f"id {pid} also used by panel {ids[pid]!r}")
        else:
            ids[pid] = title
        if panel.get("type") not in PANEL_TYPES:
            bad(where, f"unknown panel type {panel.get('type')!r}")
        gp = panel.get("gridPos")
        if not isinstance(gp, dict) or not all(isinstance(gp.get(k), int) for k in "hwxy"):
            bad(where, f"gridPos {gp!r} needs integer h, w, x, y")
        elif not (gp["h"] >= 1 and 1 <= gp["w"] <= 24 and gp["x"] >= 0 and gp["y"] >= 0
                  and gp["x"] + gp["w"] <= 24):
            bad(where, f"gridPos {gp} is outside the 24-column grid")
        else:
            for other, ogp in boxes:
                if (gp["x"] < ogp["x"] + ogp["w"] and ogp["x"] < gp["x"] + gp["w"]
                        and gp["y"] < ogp["y"] + ogp["h"] and ogp["y"] < gp["y"] + gp["h"]):
                    bad(where, f"gridPos {gp} overlaps panel {other!r} {ogp}")
            boxes.append((title, gp))
        if panel.get("type") in ("row", "text"):
            continue
        check_ds(where, panel.get("datasource"))
        targets = panel.get("targets") or []
        if not targets:
            bad(where, "has no targets")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refs:
                bad(where, f"target refId {ref!r} missing or repeated")
            refs.add(ref)
            if "datasource" in t:
                check_ds(f"{where} target {ref}", t["datasource"])
            if not str(t.get("expr", "")).strip():
                bad(f"{where} target {ref}", "has no expr")
                continue
            check_expr(f"{where} target {ref}", t["expr"])


def _promtool_rejects(promtool, rules):
    """Runs `promtool check rules` on the rules in a temporary file; returns its complaint or None."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}, f)
    try:
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if r.returncode == 0:
        return None
    lines = (r.stderr or r.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {r.returncode}"


def promtool_parse(dashboards, promtool, problems):
    """Lets promtool's own PromQL parser read every substituted expr, as recording rules of a
    temporary rules file: one run for all, then one per expr only if that run fails, to name it."""
    rules, where = [], []
    for name, dash in dashboards:
        for panel in dm.iter_panels(dash):
            for t in panel.get("targets") or []:
                if str(t.get("expr", "")).strip():
                    rules.append({"record": f"check:panel:{len(rules)}", "expr": dm.substitute(t["expr"])})
                    where.append(f"{name}: panel {panel.get('title')!r} target {t.get('refId')}")
    if not rules or _promtool_rejects(promtool, rules) is None:
        return
    for w, rule in zip(where, rules):
        complaint = _promtool_rejects(promtool, [rule])
        if complaint:
            problems.append(f"{w}: promtool cannot parse {rule['expr']!r}: {complaint}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dashboards", required=True, help="directory of Grafana dashboard JSON files")
    ap.add_argument("--metrics", required=True, help="docs/metrics.md, the metric contract")
    ap.add_argument("--rules", nargs="+", required=True, help="Prometheus rule files (recorded names are allowed)")
    ap.add_argument("--promtool", help="promtool binary: also parse every expr with it")
    args = ap.parse_args(argv)

    problems = []
    try:
        dashboards = dm.load_dashboards(args.dashboards)
        allowed = dict(dm.load_contract(args.metrics))
        allowed.update({n: None for n in dm.recorded_names(args.rules)})
        allowed.update(dm.PROMETHEUS_SERIES)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"check_dashboards: {e}", file=sys.stderr)
        return 1
    if not dashboards:
        problems.append(f"{args.dashboards}: no dashboards")
    uids, titles = {}, {}
    for name, dash in dashboards:
        check_dashboard(name, dash, allowed, problems)
        for key, seen in (("uid", uids), ("title", titles)):
            value = dash.get(key)
            if value in seen:
                problems.append(f"{name}: dashboard {key} {value!r} also used by {seen[value]}")
            seen[value] = name
    if args.promtool:
        promtool_parse(dashboards, args.promtool, problems)
    for p in problems:
        print(p)
    print(f"check_dashboards: {len(dashboards)} dashboards, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
