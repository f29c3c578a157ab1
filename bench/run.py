#!/usr/bin/env python3
"""The guidelines' gevent claim, measured on hosts deployed by our own playbooks.

    make bench            (or: .venv/bin/python bench/run.py [--keep])

Creates two local systemd containers (PostgreSQL, web), deploys with site.yml once per
gunicorn configuration, fires the load from inside the web container, and prints a table.
Exits non-zero only when it could not run; the goals are reported, not asserted.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
WEB = "bench-web"
APP_PYTHON = "/srv/initech-demo/current/.venv/bin/python"
BASE = "http://127.0.0.1:8000"

# (label, extra vars for the deploy, [(case, path, concurrency, client timeout)])
CONFIGS = [
    ("gevent, 1 worker", {"gunicorn_worker_class": "gevent", "gunicorn_workers": 1},
     [("seed demo: 10 x pg_sleep(5) via ten_slow_requests", "/ten-slow-requests/", 1, 90)]),
    ("sync, 1 worker", {"gunicorn_worker_class": "sync", "gunicorn_workers": 1},
     [("seed demo: 10 x pg_sleep(5) via ten_slow_requests", "/ten-slow-requests/", 1, 90)]),
    ("gevent, 2 workers", {"gunicorn_worker_class": "gevent", "gunicorn_workers": 2},
     # The deploy opens the pool's server connections as it goes live (django_app_warm_connections),
     # so the 1st burst after it finds them open, as the 3rd does (server_idle_timeout keeps them 10 min).
     [("200 x pg_sleep(1), 1st burst after the deploy", "/slow-sql/?seconds=1", 200, 150),
      ("200 x pg_sleep(1), 2nd burst", "/slow-sql/?seconds=1", 200, 150),
      ("200 x pg_sleep(1), 3rd burst", "/slow-sql/?seconds=1", 200, 150),
      ("200 x 1 s pure I/O wait", "/wait/?seconds=1", 200, 150)]),
    ("gthread, 2 workers x 25 threads", {"gunicorn_worker_class": "gthread", "gunicorn_workers": 2, "gunicorn_threads": 25},
     [("200 x pg_sleep(1)", "/slow-sql/?seconds=1", 200, 150), ("200 x 1 s pure I/O wait", "/wait/?seconds=1", 200, 150)]),
    ("sync, 2 workers", {"gunicorn_worker_class": "sync", "gunicorn_workers": 2},
     [("200 x pg_sleep(1)", "/slow-sql/?seconds=1", 200, 150), ("200 x 1 s pure I/O wait", "/wait/?seconds=1", 200, 150)]),
]


def sh(*cmd, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)


def playbook(*args, quiet=True):
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    env.setdefault("INITECH_PIP_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt" if Path("/etc/ssl/certs/ca-certificates.crt").exists() else "")
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), *args], cwd=ROOT, env=env, capture_output=quiet, text=True)
    if result.returncode != 0:
        if quiet:
            print(result.stdout[-4000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: ansible-playbook {' '.join(args)} failed")


def deploy(extra):
    playbook("site.yml", "-i", "bench/inventory.yml", "--vault-password-file", "tests/vault-password-TEST-ONLY.txt",
             "-e", json.dumps(extra))
    # the new workers are up once /healthz answers
    for _ in range(60):
        if sh("docker", "exec", WEB, "python3", "-c",
              f"import urllib.request; urllib.request.urlopen('{BASE}/healthz', timeout=5)", check=False,
              capture_output=True).returncode == 0:
            return
        time.sleep(1)
    raise SystemExit("bench: the app did not answer /healthz after the deploy")


def load(path, concurrency, timeout):
    out = sh("docker", "exec", WEB, APP_PYTHON, "/tmp/load.py", BASE + path, concurrency, timeout,
             capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    keep = "--keep" in sys.argv
    started = time.monotonic()
    print("== creating the benchmark hosts (bench-db, bench-web)", flush=True)
    playbook("bench/hosts.yml")
    rows = []
    try:
        for label, extra, cases in CONFIGS:
            print(f"== deploying: {label}", flush=True)
            deploy(extra)
            sh("docker", "cp", BENCH / "load.py", f"{WEB}:/tmp/load.py")
            for case, path, concurrency, timeout in cases:
                print(f"   running: {case}", flush=True)
                rows.append((case, label, load(path, concurrency, timeout)))
    finally:
        if not keep:
            playbook("bench/hosts.yml", "-e", "bench_state=absent")
    cpus = sh("nproc", capture_output=True, text=True).stdout.strip()
    print(f"\n## gevent vs sync vs gthread ({cpus}-CPU machine, load generated inside the web container)\n")
    print("| case | gunicorn | wall s | p50 s | p99 s | errors |")
    print("|---|---|---|---|---|---|")
    for case, label, r in rows:
        errors = str(r["errors"]) + (f" ({', '.join(r['error_kinds'])})" if r["errors"] else "")
        print(f"| {case} | {label} | {r['wall']:.2f} | {r['p50']:.2f} | {r['p99']:.2f} | {errors} |")
    seed = next(r for c, l, r in rows if l == "gevent, 1 worker")
    print("\nGoals:")
    print(f"- seed demo on one gevent worker <= 5.3 s: {seed['wall']:.2f} s, {'met' if seed['wall'] <= 5.3 and not seed['errors'] else 'NOT met'}")
    for (case, _, r) in [(c, l, r) for c, l, r in rows if l == "gevent, 2 workers"]:
        met = r["wall"] <= 1.5 and r["errors"] == 0
        print(f"- {case} on 2 gevent workers <= 1.5 s, 0 errors: {r['wall']:.2f} s, {r['errors']} errors, {'met' if met else 'NOT met'}")
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
