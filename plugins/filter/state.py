"""What a role would change on a host, worked out from one read of it (the host_state module).

    state_reads(wanted) -> the host_state options that read what `wanted` describes
    state_differences(found, wanted) -> ["/etc/nginx/sites-available/shop.conf: content", ...]

`wanted` describes the state a role's tasks would leave, each key a list:
  packages   names of Debian packages that must be installed
  groups     group names that must exist
  users      {name, group, home, shell, comment}: accounts (keys left out are not compared)
  dirs       {path, owner, group, mode}: directories
  files      {path, sha1, owner, group, mode}: regular files (sha1 left out: any content)
  links      {path, target}: symbolic links
  absent     paths that must not exist
  acls       {path, entries}: ACL entries a path must have (others may be there too)
  units      {name, active, enabled}: systemd units (active: running; enabled: started at boot)

An empty result means the role's tasks would change nothing: the role can skip them. The texts
name paths and attributes, never contents (a file's content may be a secret).
"""

from __future__ import annotations


def state_reads(wanted: dict) -> dict:
    """The host_state options that read everything `wanted` describes."""
    wanted = wanted or {}
    return {
        "packages": list(wanted.get("packages") or []),
        "groups": list(wanted.get("groups") or []),
        "users": [u["name"] for u in wanted.get("users") or []],
        "files": [f["path"] for f in wanted.get("files") or []],
        "paths": ([d["path"] for d in wanted.get("dirs") or []] + [link["path"] for link in wanted.get("links") or []]
                  + list(wanted.get("absent") or [])),
        "acls": [a["path"] for a in wanted.get("acls") or []],
        "units": [u["name"] for u in wanted.get("units") or []],
    }


def _attributes(where: str, have: dict, want: dict, keys) -> list:
    return [f"{where}: {key} {have.get(key)} (wanted {want[key]})" for key in keys
            if key in want and want[key] is not None and str(have.get(key)) != str(want[key])]


def state_differences(found: dict, wanted: dict) -> list:
    """Every way the host (`found`, host_state's result) differs from `wanted`, named."""
    found, wanted = found or {}, wanted or {}
    out = []
    packages = found.get("packages") or {}
    out += [f"package {name}: not installed" for name in wanted.get("packages") or [] if not packages.get(name)]
    groups = found.get("groups") or {}
    out += [f"group {name}: missing" for name in wanted.get("groups") or [] if groups.get(name) is None]
    users = found.get("users") or {}
    for want in wanted.get("users") or []:
        have = users.get(want["name"])
        if have is None:
            out.append(f"user {want['name']}: missing")
        else:
            out += _attributes(f"user {want['name']}", have, want, ("group", "home", "shell", "comment"))
    paths = found.get("paths") or {}
    for want in wanted.get("dirs") or []:
        have = paths.get(want["path"])
        if not have or have.get("type") != "directory":
            out.append(f"{want['path']}: not a directory")
        else:
            out += _attributes(want["path"], have, want, ("owner", "group", "mode"))
    files = found.get("files") or {}
    for want in wanted.get("files") or []:
        have = files.get(want["path"])
        if not have:
            out.append(f"{want['path']}: not a file")
            continue
        if want.get("sha1") is not None and have.get("sha1") != want["sha1"]:
            out.append(f"{want['path']}: content")
        out += _attributes(want["path"], have, want, ("owner", "group", "mode"))
    for want in wanted.get("links") or []:
        have = paths.get(want["path"])
        if not have or have.get("type") != "link" or have.get("target") != want["target"]:
            out.append(f"{want['path']}: not a link to {want['target']}")
    out += [f"{path}: exists" for path in wanted.get("absent") or [] if paths.get(path) is not None]
    acls = found.get("acls") or {}
    for want in wanted.get("acls") or []:
        have = set(acls.get(want["path"]) or [])
        out += [f"{want['path']}: ACL {entry} missing" for entry in want.get("entries") or [] if entry not in have]
    units = found.get("units") or {}
    for want in wanted.get("units") or []:
        have = units.get(want["name"]) or {}
        if want.get("active") and have.get("ActiveState") != "active":
            out.append(f"{want['name']}: {have.get('ActiveState', 'unknown')}, not active")
        if want.get("active") and have.get("NeedDaemonReload") == "yes":
            out.append(f"{want['name']}: its unit files changed since systemd read them")
        if want.get("enabled") and have.get("UnitFileState") != "enabled":
            out.append(f"{want['name']}: {have.get('UnitFileState', 'unknown')}, not enabled")
    return out


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"state_reads": state_reads, "state_differences": state_differences}
