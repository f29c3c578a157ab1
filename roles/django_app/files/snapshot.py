# Run by the host's python3. Save, restore or drop copies of the files a deploy may change.
#
#   save DIR PATH...   copy each PATH (owner, mode, times, ACLs: cp -a) into DIR, noting those missing
#   restore DIR        put every saved file back as it was (atomically: copy beside, rename), and
#                      remove the ones that did not exist; prints the paths it changed as JSON
#   drop DIR           forget the snapshot
import json
import os
import shutil
import subprocess
import sys

action, snapshot = sys.argv[1], sys.argv[2]
manifest = os.path.join(snapshot, "manifest.json")


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b], check=False).returncode == 0


if action == "save":
    shutil.rmtree(snapshot, ignore_errors=True)
    os.mkdir(snapshot, 0o700)
    entries = []
    for number, path in enumerate(sys.argv[3:]):
        copy = os.path.join(snapshot, str(number)) if os.path.lexists(path) else None
        if copy:
            subprocess.run(["cp", "-a", "--", path, copy], check=True)
        entries.append({"path": path, "copy": copy})
    with open(manifest, "w") as out:
        json.dump(entries, out)
    print(json.dumps([e["path"] for e in entries if e["copy"]]))
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
                    subprocess.run(["cp", "-a", "--", copy, path + ".restore"], check=True)
                    os.replace(path + ".restore", path)
                    changed.append(path)
    print(json.dumps(changed))
elif action == "drop":
    shutil.rmtree(snapshot, ignore_errors=True)
else:
    sys.exit(f"unknown action {action}")
