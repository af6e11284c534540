#!/usr/bin/env python3
"""Parses the deployment YAML under deploy/ (compose, Kubernetes, Grafana provisioning) and
checks that the pieces point at each other: the tools that would check them for real (docker
compose, kubectl against a cluster, Grafana) are not Debian packages or need a server, so this
checks what breaks a deployment silently instead.

  compose:    gpusoakd, prometheus and grafana services; every bind-mounted path exists;
              named volumes declared; the Dockerfile exists; gpusoakd's --listen port published;
              Grafana's dashboard mount is the provider's path; the datasource URL names the
              prometheus service.
  kubernetes: every document has apiVersion, kind, metadata.name; the DaemonSet's selector
              matches its pods; the Service (named gpusoak: the alerts' job label) selects those
              pods and targets a container port; the ServiceMonitor selects the Service and
              scrapes a port it has; --listen's port is the container port; probes use /healthz.

Usage: check_deploy_yaml.py --deploy DIR     (the repository's deploy/)
Exit status 0 when all pass, 1 otherwise (each problem printed).
"""
import argparse
import glob
import os
import sys

import yaml


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def listen_port(args):
    if "--listen" in args:
        return int(str(args[args.index("--listen") + 1]).rsplit(":", 1)[1])
    return None


def check_compose(deploy, bad):
    cdir = os.path.join(deploy, "compose")
    path = os.path.join(cdir, "compose.yml")
    compose = load_all(path)[0]
    services = compose.get("services", {})
    for name in ("gpusoakd", "prometheus", "grafana"):
        if name not in services:
            bad(path, f"no service {name}")
    declared = set((compose.get("volumes") or {}).keys())
    for name, svc in services.items():
        if "image" not in svc and "build" not in svc:
            bad(path, f"service {name} has neither image nor build")
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith((".", "/")):
                if not os.path.exists(os.path.normpath(os.path.join(cdir, src))):
                    bad(path, f"service {name} mounts {src}, which does not exist")
            elif src not in declared:
                bad(path, f"service {name} uses volume {src}, not declared under volumes:")
    gd = services.get("gpusoakd", {})
    build = gd.get("build", {})
    if build:
        dockerfile = os.path.normpath(os.path.join(cdir, build.get("context", "."), build.get("dockerfile", "Dockerfile")))
        if not os.path.isfile(dockerfile):
            bad(path, f"gpusoakd's Dockerfile {dockerfile} does not exist")
    port = listen_port([str(a) for a in gd.get("command", [])])
    if port is None or not any(str(p).endswith(f":{port}") for p in gd.get("ports", [])):
        bad(path, f"gpusoakd listens on port {port} but does not publish it")
    for secret in gd.get("secrets", []):
        if secret not in (compose.get("secrets") or {}):
            bad(path, f"gpusoakd uses secret {secret}, not declared under secrets:")

    provider = load_all(os.path.join(deploy, "grafana/provisioning/dashboards/gpusoak.yml"))[0]
    dash_path = provider["providers"][0]["options"]["path"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services.get("grafana", {}).get("volumes", [])}
    if os.path.normpath(os.path.join(cdir, mounts.get(dash_path, "<none>"))) != os.path.normpath(os.path.join(deploy, "../dashboards")):
        bad(path, f"grafana does not mount the repository's dashboards/ at the provider's path {dash_path}")
    datasources = load_all(os.path.join(deploy, "grafana/provisioning/datasources/gpusoak.yml"))[0]["datasources"]
    for ds in datasources:
        if ds.get("type") != "prometheus" or "prometheus:9090" not in ds.get("url", ""):
            bad("grafana datasources", f"{ds.get('name')}: not a prometheus datasource at the compose service")

    nvidia = load_all(os.path.join(cdir, "compose.nvidia.yml"))[0]
    for name in nvidia.get("services", {}):
        if name not in services:
            bad("compose.nvidia.yml", f"overrides unknown service {name}")


def check_kubernetes(deploy, bad):
    docs = []
    for path in sorted(glob.glob(os.path.join(deploy, "kubernetes", "*.yaml"))):
        for d in load_all(path):
            if not d.get("apiVersion") or not d.get("kind") or not d.get("metadata", {}).get("name"):
                bad(path, f"document without apiVersion, kind or metadata.name: {str(d)[:80]}")
            docs.append((path, d))
    by_kind = {}
    for path, d in docs:
        by_kind.setdefault(d.get("kind"), []).append((path, d))
    for kind in ("DaemonSet", "Service", "ServiceMonitor"):
        if len(by_kind.get(kind, [])) != 1:
            bad("kubernetes", f"expected one {kind}, found {len(by_kind.get(kind, []))}")
            return
    (dpath, ds), (spath, svc), (mpath, sm) = by_kind["DaemonSet"][0], by_kind["Service"][0], by_kind["ServiceMonitor"][0]

    pod_labels = ds["spec"]["template"]["metadata"].get("labels", {})
    if not ds["spec"]["selector"]["matchLabels"].items() <= pod_labels.items():
        bad(dpath, "DaemonSet selector does not match its pod template labels")
    container = ds["spec"]["template"]["spec"]["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    port = listen_port([str(a) for a in container.get("args", [])])
    if port not in ports.values():
        bad(dpath, f"--listen port {port} is not a containerPort {sorted(ports.values())}")
    for probe in ("readinessProbe", "livenessProbe"):
        if container.get(probe, {}).get("httpGet", {}).get("path") != "/healthz":
            bad(dpath, f"{probe} does not GET /healthz")
    mounts = {m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"] for v in ds["spec"]["template"]["spec"].get("volumes", [])}
    if mounts - volumes:
        bad(dpath, f"volumeMounts without volumes: {sorted(mounts - volumes)}")

    if svc["metadata"]["name"] != "gpusoak":
        bad(spath, "the Service must be named gpusoak: the Operator makes its name the job label the alerts expect")
    if not svc["spec"].get("selector", {}).items() <= pod_labels.items():
        bad(spath, "Service selector does not select the DaemonSet's pods")
    svc_ports = {p.get("name"): p for p in svc["spec"].get("ports", [])}
    for p in svc_ports.values():
        target = p.get("targetPort", p.get("port"))
        if target not in ports and target not in ports.values():
            bad(spath, f"Service port {p.get('name')} targets {target}, which the container does not expose")

    if not sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"].get("labels", {}).items():
        bad(mpath, "ServiceMonitor selector does not match the Service's labels")
    if svc["metadata"].get("namespace") not in sm["spec"].get("namespaceSelector", {}).get("matchNames", [svc["metadata"].get("namespace")]):
        bad(mpath, "ServiceMonitor namespaceSelector does not include the Service's namespace")
    for ep in sm["spec"].get("endpoints", []):
        if ep.get("port") not in svc_ports:
            bad(mpath, f"endpoint port {ep.get('port')} is not a named port of the Service")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deploy", required=True, help="the repository's deploy/ directory")
    args = ap.parse_args()
    problems = []

    def bad(where, msg):
        problems.append(f"{where}: {msg}")

    for check in (check_compose, check_kubernetes):
        try:
            check(args.deploy, bad)
        except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            bad(check.__name__, f"{type(e).__name__}: {e}")
    for p in problems:
        print(p)
    print(f"check_deploy_yaml: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
