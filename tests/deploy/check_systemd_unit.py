#!/usr/bin/env python3
"""Checks deploy/systemd/ with systemd's own tools, without installing anything:

  1. `systemd-analyze verify` on the unit, failing on any complaint it prints (it exits 0 on
     unknown keys and only warns, so a misspelt hardening option would otherwise pass);
  2. `systemd-analyze security --offline=true` below an exposure threshold (4.0 of 10; the unit
     scores 3.5 today), so removing hardening options fails;
  3. the ExecStart command line, run by /bin/sh with the env file's settings and a stand-in
     gpusoakd that prints its argv: the flags gpusoakd gets (optional ones dropped when empty);
  4. `systemd-sysusers --dry-run` on the sysusers file, in an empty root;
  5. the settings docs/security.md relies on, each on its own (the exposure score alone can stay
     under the threshold with one of them gone): User= names a user that is not root,
     NoNewPrivileges=yes, and an empty CapabilityBoundingSet=.

Works in a container: verify and security --offline read files only and need no running
systemd. Usage: check_systemd_unit.py --unit FILE --env FILE --sysusers FILE [--daemon PATH]
(--daemon: the gpusoakd ExecStart must run; an installed unit names its prefix's, /usr/bin/gpusoakd
in the .deb)
Exit status 0 when all pass, 1 otherwise (each problem printed).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

EXPOSURE_THRESHOLD = 40        # systemd-analyze's --threshold is in tenths: 40 = 4.0
DAEMON = "/usr/local/bin/gpusoakd"  # the source tree's unit; an installed one names its prefix (--daemon)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def exec_start(unit_text):
    m = re.search(r"^ExecStart=(.*)$", unit_text, re.M)
    return m.group(1) if m else None


def argv_for(unit_text, env, tmp, daemon=DAEMON):
    """The argv gpusoakd would get: ExecStart with systemd's $$ unescaped, run under sh with a
    stub in place of the daemon. Only the sh -c form the unit uses is supported."""
    line = exec_start(unit_text)
    words = shlex.split(line)
    if words[:2] != ["/bin/sh", "-c"] or len(words) != 3:
        raise ValueError(f"ExecStart is not /bin/sh -c '...': {line}")
    script = words[2].replace("$$", "$")
    if f"exec {daemon} " not in script:
        raise ValueError(f"ExecStart does not exec {daemon}: {line}")
    stub = os.path.join(tmp, "gpusoakd")
    with open(stub, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    os.chmod(stub, 0o755)
    r = run(["/bin/sh", "-c", script.replace(daemon, stub)], env={"PATH": "/usr/bin:/bin", **env})
    if r.returncode != 0:
        raise ValueError(f"ExecStart failed under sh: {r.stderr.strip()}")
    return r.stdout.splitlines()


def service_settings(unit_text):
    """[Service] key -> list of values, in order (a key may repeat)."""
    out, section = {}, None
    for line in unit_text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def privilege_problems(unit_text):
    settings = service_settings(unit_text)
    problems = []
    users = settings.get("User", [])
    if not users or users[-1] in ("", "root", "0"):
        problems.append(f"User= must name a dedicated non-root user (docs/security.md); the unit has {users or 'none'}")
    if settings.get("NoNewPrivileges", [""])[-1] not in ("yes", "true", "1", "on"):
        problems.append("NoNewPrivileges=yes is missing: the daemon and what it runs must not gain privileges")
    if settings.get("CapabilityBoundingSet", ["unset"])[-1] != "":
        problems.append("CapabilityBoundingSet= must be empty: gpusoakd needs no capability")
    return problems


def parse_env(path):
    env = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", line)
            if not m:
                raise ValueError(f"{path}:{n}: not NAME=VALUE: {line}")
            env[m.group(1)] = m.group(2)
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--env", required=True)
    ap.add_argument("--sysusers", required=True)
    ap.add_argument("--daemon", default=DAEMON, help=f"the gpusoakd ExecStart must run (default {DAEMON})")
    args = ap.parse_args()
    problems = []
    with open(args.unit) as f:
        unit_text = f.read()

    with tempfile.TemporaryDirectory() as tmp:
        # verify wants the file named like a unit; copy so a fixture's name does not matter.
        unit = os.path.join(tmp, "gpusoakd.service")
        with open(unit, "w") as f:
            f.write(unit_text)
        r = run(["systemd-analyze", "verify", "--man=no", unit])
        complaints = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or complaints:
            problems.append(f"systemd-analyze verify: {complaints or 'exit ' + str(r.returncode)}")

        problems += privilege_problems(unit_text)

        r = run(["systemd-analyze", "security", "--offline=true", f"--threshold={EXPOSURE_THRESHOLD}", unit])
        if r.returncode != 0:
            overall = [line for line in r.stdout.splitlines() if "Overall exposure" in line]
            problems.append(f"systemd-analyze security: exposure above {EXPOSURE_THRESHOLD / 10}: "
                            f"{overall[0].strip() if overall else r.stderr.strip()}")

        try:
            env = parse_env(args.env)
            for name in ("GPUSOAKD_LISTEN", "GPUSOAKD_STATE_DIR", "GPUSOAKD_TOKEN_FILE"):
                if name not in env:
                    problems.append(f"{args.env}: no {name}")
            got = argv_for(unit_text, env, tmp, args.daemon)
            want = ["--listen", env.get("GPUSOAKD_LISTEN"), "--state-dir", env.get("GPUSOAKD_STATE_DIR")]
            if got != want:
                problems.append(f"ExecStart with {args.env} gives {got}, expected {want}")
            with_token = {**env, "GPUSOAKD_TOKEN_FILE": "/etc/gpusoak/my token", "GPUSOAKD_PLANS_DIR": "/etc/gpusoak/plans"}
            got = argv_for(unit_text, with_token, tmp, args.daemon)
            want += ["--token-file", "/etc/gpusoak/my token", "--plans-dir", "/etc/gpusoak/plans"]
            if got != want:
                problems.append(f"ExecStart with a token file and plans dir gives {got}, expected {want}")
        except (OSError, ValueError) as e:
            problems.append(str(e))

        with open(args.sysusers) as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        r = run(["systemd-sysusers", "--dry-run", f"--root={root}", "--inline", *lines])
        if r.returncode != 0 or "Creating user 'gpusoak'" not in r.stderr + r.stdout:
            problems.append(f"systemd-sysusers: {(r.stderr + r.stdout).strip()}")

    for p in problems:
        print(p)
    print(f"check_systemd_unit: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
