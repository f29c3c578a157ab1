# Run by the host's python3: wait until the service's master runs the expected venv and every
# worker runs in the expected code directory (the release `current` points to), then print
# the state as JSON. Exit 1 with the stale workers named if that does not happen in time.
# Every worker must have booted (imported the app: see booted()) and the state must hold.
#
# Run it as the service's user: reading another user's /proc/PID/cwd needs CAP_SYS_PTRACE.
# argv: unit, chdir (e.g. /srv/app/current), venv, workers expected (unless the master's
# command line says), timeout seconds, and optionally the socket unit: then the output also
# holds "units", systemctl show's ActiveState, NeedDaemonReload and UnitFileState of the service
# and of the socket (one read of the host before run.yml decides what to do).
# A worker's working directory is its master's at fork time, and the master re-enters chdir on
# every reload: workers in the new release import the new code.
import json
import os
import subprocess
import sys
import time


def booted(pid):
    """Whether the worker finished booting (it imported the app and serves): True, False, or None
    when this cannot be told. Each worker keeps an unlinked temporary file, wgunicorn-*, that it
    touches from its serving loop on (its heartbeat to the master): gunicorn before 22 toggles its
    mode (created 0600), later ones set its mtime to the monotonic clock (created with ctime =
    mtime = the wall clock). A worker that cannot import the app exits before it touches it."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if os.path.basename(os.readlink(f"/proc/{pid}/fd/{fd}")).startswith("wgunicorn-"):
                tmp = os.stat(f"/proc/{pid}/fd/{fd}")
                return (tmp.st_mode & 0o777) != 0o600 or abs(tmp.st_mtime - tmp.st_ctime) > 1.0
    except OSError:
        pass
    return None


def state(unit, want_dir, venv, expected):
    props = subprocess.run(
        ["systemctl", "show", unit, "-p", "MainPID", "-p", "ActiveState"], capture_output=True, text=True, check=True
    ).stdout
    values = dict(line.split("=", 1) for line in props.splitlines() if "=" in line)
    master = int(values.get("MainPID", "0") or 0)
    workers = []
    argv = []
    if master:
        try:
            with open(f"/proc/{master}/cmdline", "rb") as cmdline:
                argv = [a.decode(errors="replace") for a in cmdline.read().split(b"\0")]
        except OSError:
            master = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or not master:
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == master:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except PermissionError:  # run this as the service's user (or with CAP_SYS_PTRACE)
                cwd = "(not readable)"
            except OSError:
                continue
            workers.append({"pid": int(pid), "cwd": cwd, "booted": booted(pid)})
    return {
        "active": values.get("ActiveState", ""),
        "master": master,
        # python and the gunicorn script, both from the venv (unless setproctitle renamed it).
        "venv_ok": any(a.startswith(venv.rstrip("/") + "/") for a in argv[:2]) or bool(argv and argv[0].startswith("gunicorn:")),
        "workers": workers,
        "release": want_dir,
        "stale": [w for w in workers if w["cwd"] != want_dir],
        # The count the running master was started with (a restored unit may differ from ours).
        "expected": int(argv[argv.index("--workers") + 1]) if "--workers" in argv[:-1] else expected,
    }


def good(now):
    return bool(
        now["active"] == "active"
        and now["master"]
        and now["venv_ok"]
        and len(now["workers"]) >= now["expected"]
        and not now["stale"]
        and all(w["booted"] is not False for w in now["workers"])
    )


def why(now):
    """What is not right in a state good() refused, in a few words."""
    if now["active"] != "active" or not now["master"]:
        return f"the service is {now['active'] or 'not running'}"
    if not now["venv_ok"]:
        return "its master does not run the expected venv"
    reasons = []
    if len(now["workers"]) < now["expected"]:
        reasons.append(f"{len(now['workers'])} of {now['expected']} workers")
    if now["stale"]:
        reasons.append(f"workers {', '.join(str(w['pid']) for w in now['stale'])} still in an older release")
    booting = [str(w["pid"]) for w in now["workers"] if w["booted"] is False]
    if booting:
        reasons.append(f"workers {', '.join(booting)} have not booted (importing the app)")
    return "; ".join(reasons) or "its master or workers changed while it settled"


def same(a, b):
    return a["master"] == b["master"] and [w["pid"] for w in a["workers"]] == [w["pid"] for w in b["workers"]]


# Workers that cannot import the app exit before they boot, and the master follows them. When
# every worker is seen booted, the state must still hold a moment later (SETTLE_BOOTED); when
# that cannot be seen (no heartbeat file found), it must hold for SETTLE seconds, the time a
# worker that cannot import the app takes to die.
SETTLE, SETTLE_BOOTED = 1.5, 0.2


def main():
    unit, chdir, venv, expected, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    socket_unit = sys.argv[6] if len(sys.argv) > 6 else None
    want_dir = os.path.realpath(chdir)
    deadline = time.monotonic() + timeout
    while True:
        now = state(unit, want_dir, venv, expected)
        ok = good(now)
        if ok and timeout > 0:
            seen = all(w["booted"] for w in now["workers"])
            time.sleep(SETTLE_BOOTED if seen else SETTLE)
            later = state(unit, want_dir, venv, expected)
            ok = good(later) and same(later, now)
            now = later
        if ok or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if socket_unit:
        shown = subprocess.run(["systemctl", "show", unit, socket_unit, "-p", "ActiveState", "-p", "NeedDaemonReload",
                                "-p", "UnitFileState"], capture_output=True, text=True, check=True).stdout
        blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line) for block in shown.split("\n\n")]
        now["units"] = {"service": blocks[0], "socket": blocks[1] if len(blocks) > 1 else {}}
    print(json.dumps(now))
    if not ok:  # the reason, for the deploy's error message
        print(f"Error: {unit} not ready after {timeout:g} s: {why(now)}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
