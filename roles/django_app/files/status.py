# Run by the host's python3 as root, read-only: what is live for an app, for `initech.django.status`.
#   argv: app root, service unit (<app>.service), socket unit
#   out:  one JSON line
import json
import os
import re
import shutil
import subprocess
import time

root, unit, socket_unit = os.sys.argv[1:4]


def show(name, *props):
    out = subprocess.run(["systemctl", "show", name, *[f"-p{p}" for p in props]], capture_output=True, text=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


current = os.path.join(root, "current")
live = os.path.basename(os.readlink(current)) if os.path.islink(current) else ""
history = read(os.path.join(root, "releases.history")).split()
previous = ""
if live in history and history.index(live) > 0:
    previous = history[history.index(live) - 1]
venv = os.path.join(root, "releases", live, ".venv") if live else ""
service = show(unit, "ActiveState", "SubState", "MainPID", "ExecStart")
expected = re.search(r"--workers (\d+)", service.get("ExecStart", ""))
master = int(service.get("MainPID") or 0)
workers = 0
if master:
    children = read(f"/proc/{master}/task/{master}/children").split()
    workers = len(children)
disk = shutil.disk_usage(root) if os.path.isdir(root) else None
print(json.dumps({
    "live": live,
    "live_since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.lstat(current).st_mtime)) if live else "",
    "previous": previous,
    "venv": os.path.basename(os.readlink(venv)) if venv and os.path.islink(venv) else "",
    "service": f"{service.get('ActiveState', '?')}/{service.get('SubState', '?')}",
    "socket": show(socket_unit, "ActiveState").get("ActiveState", "?"),
    "workers": workers,
    "workers_expected": int(expected.group(1)) if expected else None,
    "free_mb": disk.free // 2**20 if disk else None,
    "deploy_running": os.path.exists(os.path.join(root, ".deploy.lock")),
    "interrupted": os.path.exists(os.path.join(root, ".deploy.in-progress")),
}))
