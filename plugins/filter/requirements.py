"""Filters that read pip requirements files, the Initech way (a lock and its direct deps).

    requirements_lock_problems(lock_text)   -> the lines of a lock that are not exact pins
    requirements_missing_direct(lock_text, direct_text) -> direct deps absent from the lock
    requirements_parse(text)                -> every requirement line, parsed
    requirements_source_problems(text)      -> the lines that change where packages come from
    requirements_hashed(text)               -> whether every requirement carries --hash

Pure Python, no pip import: the controller's pip may differ from the host's, and roles call
these before touching the host.
"""

from __future__ import annotations

import re

try:  # the sibling filter file, whether loaded by Ansible or imported by the unit tests
    from ansible_collections.initech.django.plugins.filter.redact import redact_url
except ImportError:  # pragma: no cover - unit tests put plugins/filter on sys.path
    from redact import redact_url

# A requirement's name, optional extras, then the rest (specifiers, URL, markers).
_NAME = re.compile(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<rest>.*)$")
# An exact pin: == or === followed by a version without wildcards.
_PIN = re.compile(r"^===?\s*[A-Za-z0-9][A-Za-z0-9.+!_-]*$")
# A requirement given as a URL or a local path instead of a name.
_URL_OR_PATH = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|\.{0,2}/)")
_INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation: Django, django and DJANGO are one project; so are a_b and a-b."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _logical_lines(text: str):
    """Yield (first physical line number, text) with continuations joined, comments dropped."""
    pending, start = "", None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw if pending else raw.lstrip()
        if start is None:
            start = number
        # A comment starts at a '#' at the line start or after whitespace (pip's rule).
        line = re.sub(r"(^|\s)#.*$", "", line)
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line = (pending + line).strip()
        pending, first = "", start
        start = None
        if line:
            yield first, line
    if pending.strip():
        yield start, pending.strip()


def requirements_parse(text: str) -> list[dict]:
    """Parse a requirements file into one mapping per logical line.

    Each mapping has ``line`` (1-based), ``text`` and ``kind``: ``requirement`` (then also
    ``name``, ``canonical``, ``specifier``, ``pinned``), ``include`` (``-r``/``-c``, with
    ``path``), ``editable``, ``url`` or ``option``.
    """
    entries = []
    for number, line in _logical_lines(text or ""):
        entry = {"line": number, "text": line}
        option = line.split(None, 1)
        head = option[0]
        if head in _INCLUDE_OPTIONS or head.startswith(("--requirement=", "--constraint=")):
            path = option[1].strip() if len(option) > 1 and "=" not in head else head.partition("=")[2]
            entry.update(kind="include", path=path, constraint=head.startswith(("-c", "--constraint")))
        elif head in ("-e", "--editable") or head.startswith("--editable="):
            entry["kind"] = "editable"
        elif head.startswith("-"):
            entry["kind"] = "option"
        elif _URL_OR_PATH.match(line):
            entry["kind"] = "url"
        else:
            match = _NAME.match(line)
            if not match:
                entry["kind"] = "option"
            else:
                rest = match.group("rest")
                # Per-requirement options (pip-compile's --hash) and markers are not the version.
                rest = re.split(r"\s--\w", rest, maxsplit=1)[0]
                specifier = rest.split(";", 1)[0].strip()
                entry.update(
                    kind="requirement",
                    name=match.group("name"),
                    canonical=canonical_name(match.group("name")),
                    specifier=specifier,
                    pinned=bool(_PIN.match(specifier)),
                )
        entries.append(entry)
    return entries


def requirements_lock_problems(lock_text: str) -> list[str]:
    """Lines that make a file something other than a lock, each as 'line N: text'.

    A lock (pip freeze output) pins every requirement with ==. Unpinned or ranged
    requirements, editables, bare URLs and includes of other files are reported;
    index/hash options are allowed.
    """
    problems = []
    for entry in requirements_parse(lock_text):
        kind = entry["kind"]
        line = redact_url(entry["text"])
        if kind == "requirement" and not entry["pinned"]:
            problems.append(f"line {entry['line']}: {line} (not pinned with ==)")
        elif kind in ("editable", "url"):
            problems.append(f"line {entry['line']}: {line} ({kind}, not a pinned release)")
        elif kind == "include" and not entry["constraint"]:
            problems.append(f"line {entry['line']}: {line} (a lock does not include other files)")
    return problems


# Options that add or replace where pip looks for packages, or let it take other releases.
_SOURCE_OPTIONS = ("-i", "--index-url", "--extra-index-url", "--trusted-host", "-f", "--find-links", "--pre",
                   "-c", "--constraint", "--use-feature", "--no-index")


def requirements_source_problems(text: str) -> list[str]:
    """Lines that change where packages come from, each as 'line N: text (why)'.

    The indexes, trusted hosts and CA belong to the deploy (the virtualenv role's inputs), never to
    a file in the app's repository: a line that adds an index, trusts a host, points at a local
    directory or a URL, or installs from a VCS would let whoever edits the lock choose what code the
    hosts run. Includes (-r) are allowed (and read themselves); per-requirement --hash is allowed.
    """
    problems = []
    for entry in requirements_parse(text):
        kind, line = entry["kind"], redact_url(entry["text"])
        head = line.split(None, 1)[0].split("=", 1)[0]
        if kind == "option" and head in _SOURCE_OPTIONS:
            problems.append(f"line {entry['line']}: {line} (changes where packages come from)")
        elif kind == "include" and entry["constraint"]:
            problems.append(f"line {entry['line']}: {line} (a constraints file changes what is installed)")
        elif kind in ("editable", "url"):
            problems.append(f"line {entry['line']}: {line} (installs from a path, URL or VCS, not the index)")
        elif kind == "requirement" and "@" in entry["specifier"].split(";", 1)[0]:
            problems.append(f"line {entry['line']}: {line} (a direct reference: installs from a URL, not the index)")
    return problems


def requirements_hashed(text: str) -> bool:
    """True when every requirement of the file pins a --hash (pip can then --require-hashes)."""
    requirements = [e for e in requirements_parse(text) if e["kind"] == "requirement"]
    return bool(requirements) and all(re.search(r"\s--hash[= ]", e["text"]) for e in requirements)


def requirements_missing_direct(lock_text: str, direct_text: str) -> list[str]:
    """Names required by requirements_to_freeze.txt that the lock does not contain."""
    locked = {e["canonical"] for e in requirements_parse(lock_text) if e["kind"] == "requirement"}
    missing: dict[str, str] = {}
    for entry in requirements_parse(direct_text):
        if entry["kind"] == "requirement" and entry["canonical"] not in locked:
            missing.setdefault(entry["canonical"], entry["name"])
    return list(missing.values())


def requirements_pinned(lock_text: str) -> dict[str, str]:
    """{canonical name: version} for the pinned requirements of a lock."""
    return {
        e["canonical"]: e["specifier"].lstrip("=").strip()
        for e in requirements_parse(lock_text)
        if e["kind"] == "requirement" and e["pinned"]
    }


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {
            "requirements_parse": requirements_parse,
            "requirements_lock_problems": requirements_lock_problems,
            "requirements_missing_direct": requirements_missing_direct,
            "requirements_pinned": requirements_pinned,
            "requirements_source_problems": requirements_source_problems,
            "requirements_hashed": requirements_hashed,
            "canonical_name": canonical_name,
        }
