# Run by the host's python3 as root. One deploy at a time per app, and a trace of a deploy that
# did not finish.
#
#   lock ROOT HOLDER_JSON [break]  take ROOT/.deploy.lock (created exclusively); if another run
#                                  holds it, print its holder as JSON and exit 3 (with "break":
#                                  take it over, printing the holder it replaced); no ROOT (an app
#                                  already removed): nothing to lock, say so
#   unlock ROOT TOKEN              drop the lock if this run (TOKEN) holds it
#   mark ROOT RELEASE PREVIOUS     note that ROOT/current is about to move to RELEASE, not yet proven
#   clear ROOT                     the release went live and passed its check (or the host is back)
#   read ROOT                      print {"lock": holder or null, "in_progress": marker or null}
import json
import os
import sys
import time

action, root = sys.argv[1], sys.argv[2]
lock = os.path.join(root, ".deploy.lock")
marker = os.path.join(root, ".deploy.in-progress")


def read(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return {"unreadable": path}


def write_exclusive(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


if action == "lock" and not os.path.isdir(root):
    print(json.dumps({"held_by": None, "replaced": None, "absent": True}))
elif action == "lock":
    holder = json.loads(sys.argv[3])
    holder.setdefault("since", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    replaced = None
    if len(sys.argv) > 4 and sys.argv[4] == "break":
        replaced = read(lock)
        if replaced is not None:
            os.remove(lock)
    try:
        write_exclusive(lock, holder)
    except FileExistsError:
        print(json.dumps({"held_by": read(lock)}))
        sys.exit(3)
    print(json.dumps({"held_by": None, "replaced": replaced}))
elif action == "unlock":
    current = read(lock)
    if current is not None and current.get("token") == sys.argv[3]:
        os.remove(lock)
        print(json.dumps({"released": True}))
    else:
        print(json.dumps({"released": False, "held_by": current}))
elif action == "mark":
    data = {"release": sys.argv[3], "previous": sys.argv[4], "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    temporary = marker + ".new"
    if os.path.lexists(temporary):
        os.remove(temporary)
    write_exclusive(temporary, data)
    os.replace(temporary, marker)
elif action == "clear":
    if os.path.lexists(marker):
        os.remove(marker)
        print(json.dumps({"cleared": True}))
    else:
        print(json.dumps({"cleared": False}))
elif action == "read":
    print(json.dumps({"lock": read(lock), "in_progress": read(marker)}))
else:
    sys.exit(f"unknown action {action}")
