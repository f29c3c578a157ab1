"""roles/gunicorn/files/wait_workers.py's booted(): whether a gunicorn worker has imported the app,
told from its heartbeat file, against real gunicorn masters (the demo venv's gunicorn, gevent and
sync workers) serving an app whose import is slow, or fails."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv-demo" / "bin" / "gunicorn"
spec = importlib.util.spec_from_file_location("wait_workers", ROOT / "roles" / "gunicorn" / "files" / "wait_workers.py")
wait_workers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wait_workers)

APP = """
import os, time
time.sleep(float(os.environ["BOOT_DELAY"]))
if os.environ.get("BOOT_FAIL"):
    raise ImportError("the app cannot be imported")

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="needs the demo venv (make demo-venv)")


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def start(tmp_path, worker_class, delay, fail=False):
    (tmp_path / "slowapp.py").write_text(APP)
    env = dict(os.environ, BOOT_DELAY=str(delay), **({"BOOT_FAIL": "1"} if fail else {}))
    return subprocess.Popen(
        [str(GUNICORN), "--chdir", str(tmp_path), "--bind", "127.0.0.1:0", "--workers", "2",
         "--worker-class", worker_class, "--worker-tmp-dir", str(tmp_path), "slowapp:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def workers_of(master, count, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = children(master.pid)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gunicorn did not fork {count} workers")


@pytest.mark.parametrize("worker_class", ["gevent", "sync"])
def test_a_worker_is_booted_once_it_imported_the_app(tmp_path, worker_class):
    master = start(tmp_path, worker_class, delay=2)
    try:
        workers = workers_of(master, 2)
        # Importing the app (2 s): not booted yet.
        assert [wait_workers.booted(pid) for pid in workers] == [False, False]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(wait_workers.booted(pid) for pid in workers):
            time.sleep(0.05)
        assert [wait_workers.booted(pid) for pid in workers] == [True, True]
        # Still the same workers, and they stay booted between heartbeats.
        time.sleep(1.2)
        assert children(master.pid) == workers
        assert [wait_workers.booted(pid) for pid in workers] == [True, True]
    finally:
        master.terminate()
        master.wait(timeout=30)


def test_a_worker_that_cannot_import_the_app_is_never_booted(tmp_path):
    master = start(tmp_path, "gevent", delay=0.5, fail=True)
    try:
        seen = set()
        deadline = time.monotonic() + 30
        while master.poll() is None and time.monotonic() < deadline:
            for pid in children(master.pid):
                seen.add(wait_workers.booted(pid))
            time.sleep(0.02)
        # gunicorn's master gives up ("Worker failed to boot") after its workers exit.
        assert master.poll() is not None
        assert False in seen
        assert True not in seen
    finally:
        if master.poll() is None:
            master.kill()
        master.wait(timeout=30)


def test_a_process_without_a_heartbeat_file_cannot_be_told():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        assert wait_workers.booted(sleeper.pid) is None
        assert wait_workers.booted(999999999) is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_why_names_what_is_not_ready():
    base = {"active": "active", "master": 10, "venv_ok": True, "expected": 2, "stale": [],
            "workers": [{"pid": 11, "booted": True}, {"pid": 12, "booted": False}]}
    assert wait_workers.why(base) == "workers 12 have not booted (importing the app)"
    assert wait_workers.why({**base, "active": "failed"}) == "the service is failed"
    assert wait_workers.why({**base, "workers": [{"pid": 11, "booted": True}], "stale": [{"pid": 9}]}) == (
        "1 of 2 workers; workers 9 still in an older release")
