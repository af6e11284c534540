"""Reads what the dashboard checks need: Grafana dashboard JSON, the metric contract in
docs/metrics.md, recording-rule names, and the metric names and label matchers of a PromQL
expression.

Shared by check_dashboards.py (static checks) and query_every_panel.py (live queries), so both
agree on which panels and expressions exist and how template variables are substituted.
Python 3 standard library plus python3-yaml (Debian) only.
"""
import json
import os
import re

import yaml

# Grafana's built-in interval variables, replaced by a fixed duration so the expression can be
# parsed and run outside Grafana. 1m matches the recording rules' windows; a caller may override.
BUILTIN_DEFAULTS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__interval_ms": "60000",
    "__range_ms": "3600000",
    "__range_s": "3600",
}

# Labels Prometheus adds to every scraped series (target labels) on top of the contract's.
TARGET_LABELS = {"job", "instance"}

# Synthetic series Prometheus writes itself that dashboards may use besides the contract.
PROMETHEUS_SERIES = {"up": set()}

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}

_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')\s*,?')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)")


def load_dashboards(directory):
    """Returns [(file name, dashboard dict)] for every *.json in directory, sorted by name.
    Raises ValueError naming the file when one is not valid JSON."""
    out = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as f:
            try:
                out.append((name, json.load(f)))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON: {e}") from e
    return out


def iter_panels(dashboard):
    """Yields every panel, rows' nested panels (collapsed rows keep theirs inside) included."""
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:
            yield inner


def variables(dashboard):
    return dashboard.get("templating", {}).get("list", [])


def variable_query(var):
    """The query text of a query variable (Grafana stores it as a string or as an object)."""
    q = var.get("query", "")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or var.get("definition", "")


def substitute(expr, values=None, default=".*"):
    """Replaces $var, ${var}, ${var:fmt} and [[var]]: Grafana's interval variables by
    BUILTIN_DEFAULTS (or values), every other variable by values[name] or default. The default
    '.*' fits the dashboards' `label=~"$var"` matchers, which is how they all use variables."""
    values = values or {}

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        if name in BUILTIN_DEFAULTS:
            return BUILTIN_DEFAULTS[name]
        return default
    return _VAR.sub(repl, expr)


def load_contract(metrics_md):
    """Returns {metric name: set of its labels} from the tables of docs/metrics.md. A histogram
    contributes its _bucket (with le), _sum and _count series."""
    contract = {}
    row = re.compile(r"^\|\s*`(gpusoak_[a-z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|")
    with open(metrics_md, encoding="utf-8") as f:
        for line in f:
            m = row.match(line)
            if not m:
                continue
            name, mtype = m.group(1), m.group(2).strip()
            labels = set(re.findall(r"`([a-z_]+)`", m.group(3)))
            if mtype.startswith("histogram"):
                contract[name + "_bucket"] = labels | {"le"}
                contract[name + "_sum"] = set(labels)
                contract[name + "_count"] = set(labels)
            else:
                contract[name] = labels
    if not contract:
        raise ValueError(f"{metrics_md}: no metric table rows found")
    return contract


def load_rules(rule_files):
    """Returns [(file, group, rule dict)] for every rule in the Prometheus rule files."""
    out = []
    for path in rule_files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                out.append((path, group.get("name", ""), rule))
    return out


def recorded_names(rule_files):
    return {r["record"] for _, _, r in load_rules(rule_files) if "record" in r}


def selectors(expr):
    """[(metric name or None, [label names matched])] for each `name{...}` selector."""
    text = expr
    out = []
    for m in _SELECTOR.finditer(text):
        body = m.group(2)
        labels = []
        pos = 0
        while pos < len(body):
            mm = _MATCHER.match(body, pos)
            if not mm:
                if body[pos:].strip():
                    labels.append("<unparsed: " + body[pos:].strip() + ">")
                break
            labels.append(mm.group(1))
            pos = mm.end()
        out.append((m.group(1), labels))
    return out


def metric_names(expr):
    """Metric names an expression reads: identifiers that are not functions, aggregations,
    keywords, label names (in {...} or grouping clauses) or durations."""
    text = _SELECTOR.sub(lambda m: (m.group(1) or "") + " ", expr)
    text = _STRING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)         # range and subquery windows
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b(group_left|group_right)\b", " ", text)
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    text = re.sub(r"\b[0-9][0-9a-zA-Z.eE+]*", " ", text)  # numbers, durations
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(1)
        if word.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", text[m.end():]):
            continue  # a function or aggregation call
        names.add(word)
    return names
