# Run by the host's python3. Save, restore or drop copies of the files a deploy may change.
#
#   save DIR PATH...   copy each PATH (owner, mode, times, ACLs: cp -a) into DIR, noting those missing;
#                      prints, as JSON, the paths saved and each PATH as it is: {sha1, owner, group,
#                      mode} (what the host_state module returns for a file), or null when missing
#                      or not a regular file
#   restore DIR        put every saved file back as it was (owner, mode, times; atomically), and
#                      remove the ones that did not exist, then drop the copies (they hold the
#                      old .env: nothing keeps them once they are back); prints the paths it
#                      changed as JSON. Run again, it finds nothing to restore.
#   drop DIR           forget the snapshot
import grp
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

action, snapshot = sys.argv[1], sys.argv[2]
manifest = os.path.join(snapshot, "manifest.json")


def found(path):
    """The file as it is, or None: a role that would write the same content may skip its write."""
    if os.path.islink(path) or not os.path.isfile(path):
        return None
    info = os.stat(path)
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return {"sha1": digest.hexdigest(), "owner": owner, "group": group, "mode": "%04o" % stat.S_IMODE(info.st_mode)}


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b], check=False).returncode == 0


def restore(copy, path):
    """Put the saved copy back atomically. The directory may be the app user's (shared/): the
    temporary file gets an unpredictable name, created exclusively, so no link planted there
    can redirect root's write."""
    info = os.stat(copy)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".restore-")
    try:
        with open(copy, "rb") as source, os.fdopen(fd, "wb") as target:
            shutil.copyfileobj(source, target)
            os.fchown(target.fileno(), info.st_uid, info.st_gid)
            os.fchmod(target.fileno(), stat.S_IMODE(info.st_mode))
        os.utime(temporary, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.remove(temporary)
        raise


if action == "save":
    shutil.rmtree(snapshot, ignore_errors=True)
    os.mkdir(snapshot, 0o700)
    entries = []
    for number, path in enumerate(sys.argv[3:]):
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isfile(path)):
            continue  # only regular files are saved and restored (never through a link)
        copy = os.path.join(snapshot, str(number)) if os.path.lexists(path) else None
        if copy:
            subprocess.run(["cp", "-a", "--", path, copy], check=True)
        entries.append({"path": path, "copy": copy})
    with open(manifest, "w") as out:
        json.dump(entries, out)
    print(json.dumps({"saved": [e["path"] for e in entries if e["copy"]],
                      "files": {path: found(path) for path in sys.argv[3:]}}))
elif action == "restore":
    changed = []
    if os.path.exists(manifest):
        with open(manifest) as saved:
            for entry in json.load(saved):
                path, copy = entry["path"], entry["copy"]
                if copy is None:
                    if os.path.lexists(path):
                        os.remove(path)
                        changed.append(path)
                elif not (os.path.lexists(path) and same(copy, path)):
                    restore(copy, path)
                    changed.append(path)
    shutil.rmtree(snapshot, ignore_errors=True)
    print(json.dumps(changed))
elif action == "drop":
    shutil.rmtree(snapshot, ignore_errors=True)
else:
    sys.exit(f"unknown action {action}")
