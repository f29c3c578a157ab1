"""Filters that write a .env file django-environ reads back exactly.

    dotenv_problems(mapping)  -> ["KEY: why it cannot be written", ...]  (never the value)
    dotenv_render(mapping)    -> the file's text, one KEY='value' per line
    dotenv_template_keys(text)-> the keys a .env.template lists, in order

How django-environ (0.14) reads a line, checked by reading real values back: a line must match
``(export )?NAME=VALUE``; the file is split with str.splitlines(); a single-quoted value comes
back literally ('#', spaces, quotes, backslashes and non-ASCII included) except that a value
starting with '$' is taken as a reference to another variable, and a value that starts and ends
with '"' loses those quotes. So values are single-quoted, and what cannot survive is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Every character str.splitlines() splits on, plus NUL.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00"


def _as_text(value):
    """The string a value is written as, or None when it has no faithful text form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return str(value)
    return None


def _kind(value) -> str:
    """What a value is, in the user's words (Ansible 2.19 hands templated lists and mappings over
    as its own lazy types, whose class names mean nothing to a user)."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple, set)) or isinstance(value, Sequence):
        return "list"
    return type(value).__name__


def _problem(key, value) -> str | None:
    if not isinstance(key, str) or not _KEY.match(key):
        return f"{key!s}: not a valid variable name (letters, digits and _, not starting with a digit)"
    text = _as_text(value)
    if text is None:
        kind = _kind(value)
        return f"{key}: the value is a {kind}, not a string or number (join lists yourself)"
    if any(char in _LINE_BREAKS for char in text):
        return f"{key}: the value contains a line break, which .env cannot hold (store it base64-encoded or in a file)"
    if text.startswith("$"):
        return f"{key}: the value starts with '$', which django-environ reads as a reference to another variable"
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return f"{key}: the value starts and ends with a double quote, which django-environ strips"
    return None


def dotenv_problems(mapping) -> list[str]:
    """Why each key of the mapping cannot be written faithfully; empty when all can."""
    if not isinstance(mapping, Mapping):
        return [f"the .env variables must be a mapping of names to values, not a {_kind(mapping)}"]
    return [problem for key, value in mapping.items() if (problem := _problem(key, value))]


def dotenv_render(mapping) -> str:
    """The .env text for the mapping, keys sorted; refuses (naming keys only) what cannot be written."""
    problems = dotenv_problems(mapping)
    if problems:
        raise AnsibleFilterError("cannot write .env: " + "; ".join(problems))
    return "".join(f"{key}='{_as_text(mapping[key])}'\n" for key in sorted(mapping))


def dotenv_template_keys(text) -> list[str]:
    """Keys listed by a .env.template: NAME= lines (values ignored), comments skipped."""
    keys = []
    for line in (text or "").splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if match and match.group(1) not in keys:
            keys.append(match.group(1))
    return keys


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {
            "dotenv_problems": dotenv_problems,
            "dotenv_render": dotenv_render,
            "dotenv_template_keys": dotenv_template_keys,
        }
