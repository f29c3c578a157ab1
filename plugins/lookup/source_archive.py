"""Lookup: pack an app's source directory on the controller into a reproducible archive.

    lookup('initech.django.source_archive', '/path/to/app', exclude=[...])
      -> {"digest": "<sha256 of the content>", "archive": "/cache/<name>-<digest12>.tar.gz",
          "files": <count>, "symlinks": [<relative paths>]}

The digest depends only on the entries' relative paths, the files' contents and executable bits
and the symlinks' targets (not on mtimes or owners), so an unchanged tree gives the same release
id on every run and every controller, and a deploy can skip the upload when the host already has
that release. Exclusion patterns are gitignore-like; see DOCUMENTATION.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: source_archive
author: Initech platform team
version_added: '0.1.0'
short_description: pack a source directory into a reproducible, content-addressed archive
description:
  - Walks a directory on the controller, skipping excluded paths, and returns the sha256 digest of
    what is left together with a gzipped tar of it under O(cache_dir).
  - The digest depends only on the relative paths, the contents and executable bits of the regular
    files and the targets of the symlinks; not on mtimes, owners, other permission bits or the
    location of the directory. The archive bytes are reproducible too (fixed order, mtimes, owners
    C(root:root), modes C(0644)/C(0755)), so the digest can serve as a release id.
  - The archive is named C(<directory name>-<first 12 digest characters>.tar.gz) and written once per
    digest, atomically (a temporary file renamed into place), so repeated runs only cost a walk of
    the tree and concurrent runs cannot leave a partial archive behind.
  - Regular files are packed with mode C(0755) if any executable bit is set, C(0644) otherwise.
    Directories are not packed as entries; empty directories and special files (sockets, FIFOs,
    devices) are left out.
  - A symlink whose target resolves to a packed file or directory inside the tree (relative or
    absolute, possibly through other symlinks) is packed as a symlink with a relative target
    pointing at the resolved path. Symlinked directories are not followed.
  - A symlink that is dangling, points outside the tree or points to something that is not packed
    (for example an excluded path) makes the lookup fail with an error listing every such link as
    C(path -> target). Exclude those links (C(django_app_src_exclude) in the role) or replace them
    with regular files. Excluded paths are never examined, so an excluded dangling link is fine.
  - A directory that cannot be read makes the lookup fail rather than being skipped silently.
options:
  _terms:
    description: The directory to pack (exactly one). C(~) is expanded; a relative path is relative
      to the controller's working directory.
    required: true
    type: str
  exclude:
    description:
      - Patterns of paths to leave out, gitignore-like. Each pattern is checked against every file,
        directory and symlink in the tree, relative to the directory being packed, with C(/) as the
        separator. For each path the B(last) pattern that matches it decides; a path no pattern
        matches is packed.
      - Wildcards are those of Python's fnmatch (C(*), C(?), C([seq]), C([!seq])) and matching is
        case-sensitive. C(**) is not supported (rejected); C(*) and C(?) never match C(/).
      - A pattern without C(/) matches a file or directory name at any depth, for example
        C(__pycache__), C(*.py[co]), C(.env*), C(static) (which would drop B(every) C(static)
        directory, including each Django app's own C(<app>/static/)).
      - A pattern starting with C(/) is anchored to the root of the tree; C(/staticfiles), C(/media)
        and C(/db.sqlite3) match only those top-level entries, not C(myproject/media).
      - A pattern containing C(/) elsewhere, such as C(docs/build) or C(config/*.local.py), is
        anchored too and is matched against the whole relative path, component by component (so
        C(docs/*) matches C(docs/x) but not C(docs/x/y); everything under an excluded directory is
        left out anyway).
      - A pattern ending with C(/) matches directories only (a symlink is not a directory);
        the trailing C(/) does not anchor it (C(build/) matches C(build) directories at any depth).
      - A pattern starting with C(!) re-includes a path that an earlier pattern excluded, for
        example C(.env*) then C(!.env.template) drops C(.env) and C(.env.local) but keeps
        C(.env.template). Order matters, C(!.env.template) before C(.env*) has no effect. As in
        gitignore, a backslash makes the next character literal, C(\!) for a name that really
        begins with C(!) (also after C(/), as in C(/\!keep)), C(\*) for a real C(*).
      - As in gitignore, a path cannot be re-included if one of its parent directories is excluded,
        since excluded directories are not walked into. With C(/media) and C(!media/README) the
        README is still left out; exclude C(/media/*) instead to keep C(media/README).
      - Empty patterns and patterns made only of C(!) and C(/) are rejected.
    type: list
    elements: str
    default: []
  cache_dir:
    description: Directory on the controller where the archives are kept (created if missing).
    type: path
    default: ~/.cache/initech-django/releases
notes:
  - Runs on the controller only. The archive is meant to be unpacked with M(ansible.builtin.unarchive).
"""

EXAMPLES = r"""
- name: Pack the app with the django_app role's default exclude list
  ansible.builtin.set_fact:
    app_source: "{{ lookup('initech.django.source_archive', '/home/me/src/myproject', exclude=exclude) }}"
  vars:
    exclude:
      - .git
      - .hg
      - .svn
      - __pycache__
      - "*.py[co]"
      - .pytest_cache
      - .mypy_cache
      - .ruff_cache
      - .tox
      - .nox
      - .coverage
      - htmlcov
      - node_modules
      - .venv*
      - .env*
      - "!.env.template"   # re-included: .env, .env.local, ... stay out, .env.template is packed
      - "*.key"
      - "*.pem"
      - .DS_Store
      - /staticfiles       # collectstatic output at the top only; myproject/static/ is kept
      - /media
      - /db.sqlite3

- name: Show the release id and the archive
  ansible.builtin.debug:
    msg: "{{ app_source.digest[:12] }} is {{ app_source.archive }} ({{ app_source.files }} files)"

- name: Leave out the built docs, but keep the one page the app serves
  ansible.builtin.set_fact:
    app_source: >-
      {{ lookup('initech.django.source_archive', playbook_dir ~ '/../app',
                exclude=['.git', '__pycache__', '/docs/_build/*', '!/docs/_build/index.html'],
                cache_dir='/var/tmp/releases') }}
"""

RETURN = r"""
_raw:
  description: A list with one mapping describing the packed tree.
  type: list
  elements: dict
  contains:
    digest:
      description:
        - The sha256 (hex) of the packed content; the same tree gives the same digest on every run
          and controller. The django_app role uses its first 12 characters as the release id.
      type: str
      sample: 3f1c2a9be0d74e5a8c6b1f0e2d3c4b5a69788f7e6d5c4b3a2918f7e6d5c4b3a2
    archive:
      description: Absolute path, on the controller, of the gzipped tar holding the packed tree.
      type: path
      sample: /home/me/.cache/initech-django/releases/myproject-3f1c2a9be0d7.tar.gz
    files:
      description: The number of regular files packed (symlinks not counted).
      type: int
      sample: 214
    symlinks:
      description: The relative paths of the symlinks packed, sorted; empty if there are none.
      type: list
      elements: str
      sample: [myproject/settings/current.py]
"""

import fnmatch
import gzip
import hashlib
import os
import stat
import tarfile
import tempfile
from typing import NamedTuple

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class Pattern(NamedTuple):
    parts: tuple  # fnmatch patterns, one per path component (one element: a name at any depth)
    anchored: bool  # matched against the whole relative path
    dir_only: bool  # trailing "/": directories only
    negate: bool  # leading "!": re-include


def parse_pattern(text: str) -> Pattern:
    if not isinstance(text, str):
        raise AnsibleLookupError(f"source_archive: exclude patterns must be strings, got {text!r}")
    negate = text.startswith("!")
    body = text[1:] if negate else text
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    if not body:
        raise AnsibleLookupError(f"source_archive: exclude pattern {text!r} matches no path")
    if "**" in body:
        raise AnsibleLookupError(f"source_archive: exclude pattern {text!r}: '**' is not supported")
    parts = tuple(body.split("/"))
    if "" in parts:
        raise AnsibleLookupError(f"source_archive: exclude pattern {text!r} has an empty component")
    return Pattern(tuple(_unescape(part, text) for part in parts), anchored, dir_only, negate)


def _unescape(part: str, text: str) -> str:
    """gitignore's backslash escapes as fnmatch patterns: a wildcard made literal becomes a
    one-character set ([*]), any other escaped character is itself."""
    out, chars = [], iter(part)
    for char in chars:
        if char == "\\":
            char = next(chars, None)
            if char is None:
                raise AnsibleLookupError(f"source_archive: exclude pattern {text!r} ends with a lone backslash")
            out.append(f"[{char}]" if char in "*?[" else char)
        else:
            out.append(char)
    return "".join(out)


def parse_patterns(patterns) -> list[Pattern]:
    return [parse_pattern(p) for p in patterns or ()]


def _matches(pattern: Pattern, parts: list[str], is_dir: bool) -> bool:
    if pattern.dir_only and not is_dir:
        return False
    if not pattern.anchored:
        return fnmatch.fnmatchcase(parts[-1], pattern.parts[0])
    return len(parts) == len(pattern.parts) and all(map(fnmatch.fnmatchcase, parts, pattern.parts))


def is_excluded(relpath: str, patterns, is_dir: bool = False) -> bool:
    """Whether the last pattern matching this path (not its parents) excludes it."""
    parts = relpath.split("/")
    excluded = False
    for pattern in patterns:
        if _matches(pattern, parts, is_dir):
            excluded = not pattern.negate
    return excluded


class Tree(NamedTuple):
    files: list  # relative paths of the regular files, sorted
    links: dict  # relative path of each symlink -> relative target, as packed


def scan(root: str, exclude=()) -> Tree:
    """Walk root (a directory) without following symlinks, leaving excluded paths out.

    Raises AnsibleLookupError listing the symlinks that cannot be packed.
    """
    patterns = parse_patterns(exclude)
    real_root = os.path.realpath(root)
    files, links = [], []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir)) as entries:
                entries = list(entries)
        except OSError as exc:
            raise AnsibleLookupError(f"source_archive: cannot read {exc.filename}: {exc.strerror}") from exc
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_link = entry.is_symlink()
            is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            if is_excluded(rel, patterns, is_dir):
                continue
            if is_link:
                links.append(rel)
            elif is_dir:
                pending.append(rel)
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
    files.sort()
    return Tree(files, _check_links(root, real_root, files, sorted(links)))


def _check_links(root: str, real_root: str, files: list, links: list) -> dict:
    packed_files = set(files)
    packed_dirs = {""}
    for rel in files + links:
        while "/" in rel:
            rel = rel.rsplit("/", 1)[0]
            packed_dirs.add(rel)
    packed, refused = {}, []
    for rel in links:
        full = os.path.join(root, rel)
        if not os.path.exists(full):
            refused.append(f"{rel} -> {os.readlink(full)} (dangling)")
            continue
        real = os.path.realpath(full)
        if os.path.commonpath([real_root, real]) != real_root:
            refused.append(f"{rel} -> {os.readlink(full)} (outside the tree)")
            continue
        target = os.path.relpath(real, real_root)
        if (target if target != "." else "") not in (packed_dirs if os.path.isdir(real) else packed_files):
            refused.append(f"{rel} -> {os.readlink(full)} (target excluded or not packed)")
            continue
        # The walk does not follow symlinks, so real_root/<parent of rel> is the link's real directory.
        packed[rel] = os.path.relpath(real, os.path.join(real_root, os.path.dirname(rel)))
    if refused:
        raise AnsibleLookupError(
            f"source_archive: cannot pack these symlinks of {root}: "
            + "; ".join(refused)
            + ". Exclude them (django_app_src_exclude) or replace them with regular files."
        )
    return packed


def list_files(root: str, exclude=()) -> list[str]:
    """Relative paths of the regular files under root, sorted, excluded ones skipped."""
    return scan(root, exclude).files


def _is_executable(full: str) -> bool:
    return os.stat(full).st_mode & 0o111 != 0


def _file_sha256(full: str) -> str:
    digest = hashlib.sha256()
    with open(full, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_of(root: str, files, links=None) -> str:
    """sha256 over the sorted entries: "path\\0<0|1>\\0<sha256>\\n" or "path\\0l\\0<target>\\0\\n"."""
    links = links or {}
    digest = hashlib.sha256()
    for rel in sorted([*files, *links]):
        if rel in links:
            digest.update(os.fsencode(rel) + b"\0l\0" + os.fsencode(links[rel]) + b"\0\n")
        else:
            full = os.path.join(root, rel)
            digest.update(os.fsencode(rel) + f"\0{int(_is_executable(full))}\0{_file_sha256(full)}\n".encode())
    return digest.hexdigest()


def write_archive(root: str, files, path: str, links=None) -> None:
    """A gzipped tar whose bytes depend only on the content (fixed mtimes, owners and order)."""
    links = links or {}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for rel in sorted([*files, *links]):
                info = tarfile.TarInfo(rel)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if rel in links:
                    info.type = tarfile.SYMTYPE
                    info.linkname = links[rel]
                    info.mode = 0o777
                    tar.addfile(info)
                    continue
                full = os.path.join(root, rel)
                with open(full, "rb") as handle:
                    status = os.fstat(handle.fileno())
                    info.size = status.st_size
                    info.mode = 0o755 if stat.S_IMODE(status.st_mode) & 0o111 else 0o644
                    tar.addfile(info, handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def source_archive(root: str, exclude=(), cache_dir="~/.cache/initech-django/releases") -> dict:
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise AnsibleLookupError(f"source_archive: {root} is not a directory on the controller")
    tree = scan(root, exclude)
    if not tree.files:
        raise AnsibleLookupError(f"source_archive: {root} has no files left after the exclusions")
    digest = digest_of(root, tree.files, tree.links)
    name = os.path.basename(root.rstrip("/")) or "source"
    archive = os.path.join(os.path.abspath(os.path.expanduser(cache_dir)), f"{name}-{digest[:12]}.tar.gz")
    if not os.path.exists(archive):
        write_archive(root, tree.files, archive, tree.links)
    return {"digest": digest, "archive": archive, "files": len(tree.files), "symlinks": sorted(tree.links)}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleLookupError("source_archive takes exactly one directory")
        return [source_archive(terms[0], self.get_option("exclude"), self.get_option("cache_dir"))]
