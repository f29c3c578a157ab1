"""Resolve a git version (branch, tag, ref or commit) to exactly one commit.

    git_patterns(version)            -> the ref names to ask `git ls-remote` for
    git_resolve(ls_remote, version)  -> {"commit": sha, "ref": name, "error": ""} or an error

`git ls-remote <repo> main` matches ref names by their tail: `refs/heads/someone/main` too, and
it lists refs sorted by name, so the first line may be someone else's branch. These filters ask
for the exact names and accept only an exact, single answer.
"""

from __future__ import annotations

import re

_SHA = re.compile(r"^[0-9a-f]{40}$")


def git_patterns(version: str) -> list[str]:
    """What to pass to ls-remote for a version (nothing for a full commit id)."""
    version = str(version)
    if _SHA.match(version):
        return []
    if version == "HEAD":
        return ["HEAD"]
    if version.startswith("refs/tags/"):
        return [version, version + "^{}"]
    if version.startswith("refs/"):
        return [version]
    return [f"refs/heads/{version}", f"refs/tags/{version}", f"refs/tags/{version}^{{}}"]


def git_resolve(ls_remote: str, version: str) -> dict:
    """The commit a version names, from `git ls-remote <repo> <git_patterns(version)>` output."""
    version = str(version)
    if _SHA.match(version):
        return {"commit": version, "ref": version, "error": ""}
    refs = {}
    for line in (ls_remote or "").splitlines():
        sha, _, name = line.partition("\t")
        if _SHA.match(sha) and name:
            refs[name] = sha

    def tag(name):  # an annotated tag's commit is the peeled ^{} entry
        return refs.get(name + "^{}") or refs.get(name)

    if version == "HEAD" or (version.startswith("refs/") and not version.startswith("refs/tags/")):
        found = {version: refs[version]} if version in refs else {}
    elif version.startswith("refs/tags/"):
        found = {version: tag(version)} if tag(version) else {}
    else:
        found = {}
        if f"refs/heads/{version}" in refs:
            found[f"refs/heads/{version}"] = refs[f"refs/heads/{version}"]
        if tag(f"refs/tags/{version}"):
            found[f"refs/tags/{version}"] = tag(f"refs/tags/{version}")
    if not found:
        return {"commit": "", "ref": "", "error": f"no branch or tag named exactly {version!r}"}
    if len(found) > 1:
        names = " and ".join(sorted(found))
        return {"commit": "", "ref": "", "error": f"{version!r} is both {names}: name one (refs/heads/... or refs/tags/...)"}
    [(name, sha)] = found.items()
    return {"commit": sha, "ref": name, "error": ""}


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"git_patterns": git_patterns, "git_resolve": git_resolve}
