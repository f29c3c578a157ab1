"""Lookup: pack an app's source directory on the controller into a reproducible archive.

    lookup('initech.django.source_archive', '/path/to/app', exclude=[...])
      -> {"digest": "<sha256 of the content>", "archive": "/cache/<name>-<digest12>.tar.gz",
          "files": <count>}

The digest depends only on the files' paths, contents and executable bits (not on mtimes or
owners), so an unchanged tree gives the same release id on every run and every controller, and
a deploy can skip the upload when the host already has that release. Excluded patterns match
any path component (``__pycache__``, ``.git``) or the whole relative path (``static/*``).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: source_archive
author: Initech platform team
short_description: pack a source directory into a reproducible, content-addressed archive
description:
  - Walks a directory on the controller, skipping excluded paths, and returns the sha256 digest
    of its content together with a gzipped tar of it under a cache directory.
  - The archive is written once per digest (atomically), so repeated runs cost a directory walk.
options:
  _terms:
    description: The directory to pack (one).
    required: true
  exclude:
    description: fnmatch patterns matched against every path component and the relative path.
    type: list
    elements: str
    default: []
  cache_dir:
    description: Where archives are kept.
    type: str
    default: ~/.cache/initech-django/releases
"""

RETURN = r"""
_raw:
  description: One mapping with digest, archive and files (the number of files packed).
  type: list
  elements: dict
"""

import fnmatch
import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def _excluded(relpath: str, patterns) -> bool:
    parts = relpath.split("/")
    return any(fnmatch.fnmatch(relpath, p) or any(fnmatch.fnmatch(part, p) for part in parts) for p in patterns)


def list_files(root: str, exclude=()) -> list[str]:
    """Relative paths of the regular files under root, sorted, excluded ones skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not _excluded(rel_dir + d, exclude))
        for name in filenames:
            rel = rel_dir + name
            full = os.path.join(dirpath, name)
            if not _excluded(rel, exclude) and stat.S_ISREG(os.lstat(full).st_mode):
                found.append(rel)
    return sorted(found)


def digest_of(root: str, files) -> str:
    digest = hashlib.sha256()
    for rel in files:
        full = os.path.join(root, rel)
        executable = os.stat(full).st_mode & 0o111 != 0
        with open(full, "rb") as handle:
            content = hashlib.sha256(handle.read()).hexdigest()
        digest.update(f"{rel}\0{int(executable)}\0{content}\n".encode())
    return digest.hexdigest()


def write_archive(root: str, files, path: str) -> None:
    """A gzipped tar whose bytes depend only on the content (fixed mtimes, owners and order)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in files:
            full = os.path.join(root, rel)
            info = tarfile.TarInfo(rel)
            info.size = os.path.getsize(full)
            info.mode = 0o755 if os.stat(full).st_mode & 0o111 else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(full, "rb") as handle:
                tar.addfile(info, handle)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def source_archive(root: str, exclude=(), cache_dir="~/.cache/initech-django/releases") -> dict:
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise AnsibleLookupError(f"source_archive: {root} is not a directory on the controller")
    files = list_files(root, exclude)
    if not files:
        raise AnsibleLookupError(f"source_archive: {root} has no files left after the exclusions")
    digest = digest_of(root, files)
    name = os.path.basename(root.rstrip("/")) or "source"
    archive = os.path.join(os.path.expanduser(cache_dir), f"{name}-{digest[:12]}.tar.gz")
    if not os.path.exists(archive):
        write_archive(root, files, archive)
    return {"digest": digest, "archive": archive, "files": len(files)}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("source_archive takes exactly one directory")
        return [source_archive(terms[0], self.get_option("exclude"), self.get_option("cache_dir"))]
