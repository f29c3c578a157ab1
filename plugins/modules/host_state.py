#!/usr/bin/python
"""Read, in one round trip, the state a role needs to decide what (if anything) to change."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_state
author: Initech platform team
version_added: 0.2.0
short_description: read the state of files, directories, accounts, packages and units in one round trip
description:
  - Returns, for each thing asked about, what a role needs to decide whether it must change it - so
    that a role reads the host once and then skips every task that would change nothing, instead of
    running each idempotent module just to learn that it has nothing to do.
  - Read-only; behaves the same in check mode.
attributes:
  check_mode:
    support: full
    description: Reads only, so a check run returns what a real run would.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
options:
  files:
    description: Paths of files whose SHA-1 (the checksum Ansible's copy and template modules use),
      owner, group and mode to return; C(null) for a missing one.
    type: list
    elements: str
    default: []
  paths:
    description: Paths whose type (file, directory, link, other), owner, group, mode and link target to return.
    type: list
    elements: str
    default: []
  acls:
    description: Paths whose POSIX ACL entries (getfacl, without the base entries) to return.
    type: list
    elements: str
    default: []
  users:
    description: Account names whose passwd entry (uid, gid, comment, home, shell, groups) to return.
    type: list
    elements: str
    default: []
  groups:
    description: Group names whose gid to return.
    type: list
    elements: str
    default: []
  packages:
    description: Debian package names whose installed version to return (C(null) when not installed).
    type: list
    elements: str
    default: []
  units:
    description: systemd units whose ActiveState, UnitFileState, NeedDaemonReload and MainPID to return.
    type: list
    elements: str
    default: []
  contents:
    description: Text files whose whole content to return (C(null) for a missing one); links are followed. For
      small files (requirement files, .env.template, records), as the content travels in the module's result.
    type: list
    elements: str
    default: []
  interpreters:
    description: Python interpreters (e.g. V(python3)) whose version to return (C(null) when not installed).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Read what the layout needs to know
  initech.django.host_state:
    users: [shop]
    groups: [shop]
    paths: [/srv/shop, /srv/shop/releases]
    packages: [tar, acl]
    units: [shop.service]
  register: __state

- name: Create the user only when it is missing
  ansible.builtin.user:
    name: shop
  when: __state.users.shop is none
"""

RETURN = r"""
files:
  description: path -> {sha1, owner, group, mode} or null.
  type: dict
  returned: always
paths:
  description: path -> {type, owner, group, mode, target} or null.
  type: dict
  returned: always
acls:
  description: path -> list of ACL entries (user:name:rwx, default:user:name:r-x, ...) or null.
  type: dict
  returned: always
users:
  description: name -> {uid, gid, comment, home, shell, groups} or null.
  type: dict
  returned: always
groups:
  description: name -> gid or null.
  type: dict
  returned: always
packages:
  description: name -> installed version or null.
  type: dict
  returned: always
units:
  description: unit -> {ActiveState, UnitFileState, NeedDaemonReload, MainPID}.
  type: dict
  returned: always
contents:
  description: path -> text or null.
  type: dict
  returned: always
interpreters:
  description: interpreter -> version (e.g. 3.13.5) or null.
  type: dict
  returned: always
"""

import grp
import hashlib
import os
import pwd
import stat
import subprocess

from ansible.module_utils.basic import AnsibleModule


def _owner(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _stat(path):
    try:
        info = os.lstat(path)
    except OSError:
        return None
    kind = ("link" if stat.S_ISLNK(info.st_mode) else "directory" if stat.S_ISDIR(info.st_mode)
            else "file" if stat.S_ISREG(info.st_mode) else "other")
    return {"type": kind, "owner": _owner(info.st_uid), "group": _group(info.st_gid),
            "mode": "%04o" % stat.S_IMODE(info.st_mode), "target": os.readlink(path) if kind == "link" else None}


def _file(path):
    info = _stat(path)
    if info is None or info["type"] != "file":
        return None
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha1": digest.hexdigest(), "owner": info["owner"], "group": info["group"], "mode": info["mode"]}


def _acl(path):
    if not os.path.lexists(path):
        return None
    out = subprocess.run(["getfacl", "--omit-header", "--absolute-names", "--numeric", path],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None
    entries = []
    for line in out.stdout.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(":")
        default = parts[0] == "default"
        kind, qualifier, perms = parts[-3], parts[-2], parts[-1]
        if not qualifier:  # base entries (owner, group, other, mask) come from the mode
            continue
        name = _owner(int(qualifier)) if kind == "user" else _group(int(qualifier)) if kind == "group" else qualifier
        entries.append(("default:" if default else "") + f"{kind}:{name}:{perms}")
    return sorted(entries)


def _user(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    groups = sorted(g.gr_name for g in grp.getgrall() if name in g.gr_mem)
    return {"uid": entry.pw_uid, "gid": entry.pw_gid, "group": _group(entry.pw_gid), "comment": entry.pw_gecos,
            "home": entry.pw_dir, "shell": entry.pw_shell, "groups": groups}


def _packages(names):
    found = dict.fromkeys(names)
    if not names:
        return found
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", *names],
                         capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        package, status, version = (line.split("\t") + ["", ""])[:3]
        if status.endswith(" installed") and package in found:
            found[package] = version
    return found


def _units(names):
    found = {}
    for name in names:
        out = subprocess.run(["systemctl", "show", name, "-p", "ActiveState", "-p", "UnitFileState",
                              "-p", "NeedDaemonReload", "-p", "MainPID"], capture_output=True, text=True, check=False)
        found[name] = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return found


def _content(path):
    try:
        # newline="": the text as it is (CRLF too), as slurp would give it.
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()
    except OSError:
        return None


def _interpreter(name):
    try:
        out = subprocess.run([name, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def main():
    module = AnsibleModule(
        argument_spec={key: {"type": "list", "elements": "str", "default": []}
                       for key in ("files", "paths", "acls", "users", "groups", "packages", "units", "contents",
                                   "interpreters")},
        supports_check_mode=True,
    )
    params = module.params
    result = {
        "changed": False,
        "files": {path: _file(path) for path in params["files"]},
        "paths": {path: _stat(path) for path in params["paths"]},
        "acls": {path: _acl(path) for path in params["acls"]},
        "users": {name: _user(name) for name in params["users"]},
        "groups": {name: (grp.getgrnam(name).gr_gid if name in {g.gr_name for g in grp.getgrall()} else None)
                   for name in params["groups"]},
        "packages": _packages(params["packages"]),
        "units": _units(params["units"]),
        "contents": {path: _content(path) for path in params["contents"]},
        "interpreters": {name: _interpreter(name) for name in params["interpreters"]},
    }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
