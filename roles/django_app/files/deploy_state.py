# Run by the host's python3 as root. One deploy at a time per app, and a trace of a deploy that
# did not finish.
#
#   lock ROOT HOLDER_JSON [break]  take ROOT/.deploy.lock (created exclusively) and print what
#                                  `read` prints as "live" (what the run holding the lock reads
#                                  first); if another run holds it, print its holder as JSON and
#                                  exit 3 (with "break": take it over, printing the holder it
#                                  replaced); no ROOT (an app already removed): nothing to lock, say so
#   unlock ROOT TOKEN              drop the lock if this run (TOKEN) holds it
#   mark ROOT RELEASE PREVIOUS     note that ROOT/current is about to move to RELEASE, not yet proven
#   clear ROOT                     the release went live and passed its check (or the host is back)
#   read ROOT                      print {"lock": holder or null, "in_progress": marker or null,
#                                  "current": where ROOT/current points or null, "history": the
#                                  text of ROOT/releases.history or null, "releases": {release:
#                                  {"complete": holds .release, "venv": where its .venv points or
#                                  null, "python": that venv (or ROOT/venv) has bin/python}}}
#                                  (what a deploy or rollback reads first)
#   finish ROOT JSON               after a release passed its check, in one go: write the history
#                                  (JSON "history", group "group", 0640), delete the release
#                                  directories not in "keep" and the venvs in ROOT/venvs no kept
#                                  release nor "live_venv" uses ("keep" null: prune nothing), drop
#                                  the in-progress marker and the snapshot directory "snapshot",
#                                  and the lock when the run holding it ("token") is done with it;
#                                  print what changed
import grp
import json
import os
import shutil
import sys
import time

action, root = sys.argv[1], sys.argv[2]
lock = os.path.join(root, ".deploy.lock")
marker = os.path.join(root, ".deploy.in-progress")
releases = os.path.join(root, "releases")
history = os.path.join(root, "releases.history")


def read(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return {"unreadable": path}


def release_venvs():
    """{release directory: where its .venv link points, as the deploy wrote it, or None}."""
    found = {}
    for name in sorted(os.listdir(releases)) if os.path.isdir(releases) else []:
        path = os.path.join(releases, name)
        if os.path.isdir(path) and not os.path.islink(path):
            link = os.path.join(path, ".venv")
            found[name] = os.readlink(link) if os.path.islink(link) else None
    return found


def write_exclusive(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)


def replace_file(path, text, mode=0o600, gid=None):
    """Put text at path atomically (a new file beside it, then a rename; links are not followed)."""
    temporary = path + ".new"
    if os.path.lexists(temporary):
        os.remove(temporary)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if gid is not None:
        os.chown(temporary, 0, gid)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def live():
    """What `read` prints."""
    try:
        with open(history) as handle:
            history_text = handle.read()
    except FileNotFoundError:
        history_text = None
    current = os.path.join(root, "current")
    return {"lock": read(lock), "in_progress": read(marker),
            "current": os.readlink(current) if os.path.islink(current) else None,
            "history": history_text, "releases": {
                name: {"complete": os.path.isfile(os.path.join(releases, name, ".release")), "venv": venv,
                       "python": os.path.exists(os.path.join(venv or os.path.join(root, "venv"), "bin", "python"))}
                for name, venv in release_venvs().items()}}


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
    try:
        state = live()
    except Exception:
        os.remove(lock)  # not held by a run that never learned it took it
        raise
    print(json.dumps({"held_by": None, "replaced": replaced, "live": state}))
elif action == "unlock":
    current = read(lock)
    if current is not None and current.get("token") == sys.argv[3]:
        os.remove(lock)
        print(json.dumps({"released": True}))
    else:
        print(json.dumps({"released": False, "held_by": current}))
elif action == "mark":
    data = {"release": sys.argv[3], "previous": sys.argv[4], "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    replace_file(marker, json.dumps(data))
elif action == "clear":
    if os.path.lexists(marker):
        os.remove(marker)
        print(json.dumps({"cleared": True}))
    else:
        print(json.dumps({"cleared": False}))
elif action == "read":
    print(json.dumps(live()))
elif action == "finish":
    wanted = json.loads(sys.argv[3])
    gid = grp.getgrnam(wanted["group"]).gr_gid
    done = {"history_changed": False, "releases_deleted": [], "venvs_deleted": [], "cleared": False}
    try:
        with open(history) as handle:
            done["history_changed"] = os.path.islink(history) or handle.read() != wanted["history"]
    except FileNotFoundError:
        done["history_changed"] = True
    if done["history_changed"]:
        replace_file(history, wanted["history"], 0o640, gid)
    else:
        found = os.stat(history, follow_symlinks=False)
        if (found.st_uid, found.st_gid, found.st_mode & 0o7777) != (0, gid, 0o640):
            os.chown(history, 0, gid, follow_symlinks=False)
            os.chmod(history, 0o640)
            done["history_changed"] = True
    if wanted.get("keep") is not None:
        keep = set(wanted["keep"])
        for name in sorted(os.listdir(releases)) if os.path.isdir(releases) else []:
            path = os.path.join(releases, name)
            if name not in keep and os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
                done["releases_deleted"].append(name)
            elif name.startswith(".") and name.endswith(".tar.gz") and os.path.isfile(path):
                os.remove(path)  # the code of a deploy interrupted before it unpacked it
        used = set(release_venvs().values()) | {wanted["live_venv"]}
        venvs = os.path.join(root, "venvs")
        for name in sorted(os.listdir(venvs)) if os.path.isdir(venvs) else []:
            path = os.path.join(venvs, name)
            # Hidden entries (the builder's home) are not venvs.
            if not name.startswith(".") and path not in used and os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
                done["venvs_deleted"].append(path)
    if os.path.lexists(marker):
        os.remove(marker)
        done["cleared"] = True
    if wanted.get("snapshot"):
        shutil.rmtree(wanted["snapshot"], ignore_errors=True)
    if wanted.get("token"):
        holder = read(lock)
        # The token released (unlock.yml then has nothing to do), or null.
        done["released"] = wanted["token"] if holder is not None and holder.get("token") == wanted["token"] else None
        if done["released"]:
            os.remove(lock)
    print(json.dumps(done))
else:
    sys.exit(f"unknown action {action}")
