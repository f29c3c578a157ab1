#!/usr/bin/env python3
"""pip against uv for the demo's lock, the way the virtualenv role runs them (prints a table).

    make bench-installers               (or: .venv/bin/python bench/installers.py [--runs N])

For each installer, N times: a cold install of examples/initech-demo/requirements.txt into a new
venv with an empty cache (every wheel downloaded), a warm one (a new venv, the cache filled: a
new lock on a host that built venvs before), and a no-op (the venv already holds the lock: what
a converge pays when nothing changed); then the dev file (requirements-dev.txt: the lock plus
unpinned tools, so the installer resolves). pip runs as the role runs it (`pip install -r`, the
same command ansible.builtin.pip runs); uv as `uv pip sync` for the lock (exact: what the lock
does not pin goes) and `uv pip install -r` for the dev file. uv is the version the role installs
(roles/virtualenv/defaults/main.yml: virtualenv_uv_version). Packages come from the index this
machine reaches (PyPI, through INITECH_PIP_CA_BUNDLE's proxy when set), so the network is part
of the cold numbers, as on a host.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "initech-demo"
DEFAULTS = ROOT / "roles" / "virtualenv" / "defaults" / "main.yml"


def uv_version():
    found = re.search(r"^virtualenv_uv_version:\s*['\"]?([0-9][^'\"\s]*)", DEFAULTS.read_text(), re.M)
    if not found:
        sys.exit(f"virtualenv_uv_version not found in {DEFAULTS}")
    return found.group(1)


def run(argv, env, cwd=None):
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return took


def frozen(venv, env):
    out = subprocess.run([f"{venv}/bin/python", "-m", "pip", "freeze"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return sorted(line.lower().replace("_", "-") for line in out.split() if "==" in line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-installers-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV"))}
    ca = os.environ.get("INITECH_PIP_CA_BUNDLE", "")
    if ca:
        env.update(PIP_CERT=ca, SSL_CERT_FILE=ca)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", UV_PYTHON_DOWNLOADS="never",
               UV_NO_CONFIG="1", PIP_CONFIG_FILE=os.devnull)
    python = shutil.which("python3")
    version = uv_version()
    try:
        tools = work / "uv"
        subprocess.run([python, "-m", "venv", tools], check=True)
        run([tools / "bin" / "python", "-m", "pip", "install", "-q", f"uv=={version}"], env)
        uv = tools / "bin" / "uv"
        lock = APP / "requirements.txt"
        dev = APP / "requirements-dev.txt"

        def pip(venv, req, cache):
            return [f"{venv}/bin/python", "-m", "pip", "install", "--no-input", "--cache-dir", cache, "-r", req]

        def uv_lock(venv, req, cache):
            return [uv, "pip", "sync", "--python", f"{venv}/bin/python", "--cache-dir", cache, req]

        def uv_dev(venv, req, cache):
            return [uv, "pip", "install", "--python", f"{venv}/bin/python", "--cache-dir", cache, "-r", req]

        rows, locks = {}, {}
        for n in range(args.runs):
            for name, lock_cmd, dev_cmd in (("pip", pip, pip), ("uv", uv_lock, uv_dev)):
                cache = work / f"cache-{name}-{n}"
                venv = work / f"venv-{name}-{n}"
                subprocess.run([python, "-m", "venv", venv], check=True)
                times = rows.setdefault(name, {})
                times.setdefault("cold", []).append(run(lock_cmd(venv, lock, cache), env, cwd=APP))
                reference = locks.setdefault(name, frozen(venv, env))
                if frozen(venv, env) != reference:
                    sys.exit(f"{name}: run {n + 1} left another venv than run 1")
                venv2 = work / f"venv2-{name}-{n}"
                subprocess.run([python, "-m", "venv", venv2], check=True)
                times.setdefault("warm", []).append(run(lock_cmd(venv2, lock, cache), env, cwd=APP))
                times.setdefault("noop", []).append(run(lock_cmd(venv2, lock, cache), env, cwd=APP))
                if frozen(venv2, env) != reference:
                    sys.exit(f"{name}: the warm venv differs from the cold one")
                times.setdefault("dev", []).append(run(dev_cmd(venv2, dev, cache), env, cwd=APP))
                shutil.rmtree(venv)
            print(f"run {n + 1}/{args.runs} done", file=sys.stderr, flush=True)

        if locks["pip"] != locks["uv"]:
            sys.exit(f"pip and uv left different venvs: {sorted(set(locks['pip']) ^ set(locks['uv']))}")
        packages = len(locks["uv"])
        print(f"\nThe demo's lock ({lock.relative_to(ROOT)}), Python {sys.version.split()[0]} venvs, "
              f"pip {subprocess.run([python, '-m', 'pip', '--version'], capture_output=True, text=True).stdout.split()[1]}"
              f" (the venv's) vs uv {version}; {os.cpu_count()} CPUs; median of {args.runs} runs "
              f"(min-max), seconds.\n")
        cases = (("cold", "new venv, empty cache"), ("warm", "new venv, cache filled (a new lock)"),
                 ("noop", "the venv holds the lock (nothing to do)"),
                 ("dev", "dev file on top (-r lock + unpinned tools)"))
        print(f"| case | pip | uv | pip / uv |\n|---|---|---|---|")
        for key, label in cases:
            p, u = rows["pip"][key], rows["uv"][key]
            cell = lambda t: f"{statistics.median(t):.2f} ({min(t):.2f}-{max(t):.2f})"
            print(f"| {label} | {cell(p)} | {cell(u)} | {statistics.median(p) / statistics.median(u):.1f}x |")
        print(f"\nBoth installers left the same {packages} packages for the lock (pip freeze of the venvs).")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
