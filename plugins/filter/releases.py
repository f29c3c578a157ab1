"""Filters for the release history of a deployed app (pure logic: unit-tested, no host access).

The history is a text file on the host, one release id per line, oldest first: the order in
which releases went live. `current` (a symlink) says which release is live; the history says
what came before it. Nothing here looks at modification times.

    release_history(text)                      -> [ids], validated
    release_activate(history, id)              -> history after `id` goes live (moved to the end)
    release_known(history, current)            -> history, with a live release it lacks appended
    release_previous(history, current)         -> the release before `current`, or ''
    release_rollback(history, current)         -> history after rolling back from `current`
    release_prune(dirs, history, current, keep) -> release directories to delete
    release_history_text(history)              -> the file's new content
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _check_id(value, what="release id") -> str:
    value = str(value)
    if not _ID.match(value):
        raise AnsibleFilterError(f"{what} {value!r} is not a release id (letters, digits, . _ -)")
    return value


def release_history(text) -> list[str]:
    """Parse the history file: one id per line; blank lines and # comments are skipped."""
    ids = []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _ID.match(line):
            raise AnsibleFilterError(f"release history line {number}: {line!r} is not a release id")
        ids.append(line)
    return ids


def release_activate(history, release_id) -> list[str]:
    """`release_id` went live: it becomes the last entry (once, wherever it was before)."""
    release_id = _check_id(release_id)
    return [i for i in history if i != release_id] + [release_id]


def release_known(history, current) -> list[str]:
    """The history, plus `current` at its end if it is live but missing (deployed before there
    was a history, or switched by hand): what a rollback returns to. Order is kept."""
    history = list(history)
    current = str(current or "")
    if not current or current in history:
        return history
    return history + [_check_id(current)]


def release_previous(history, current) -> str:
    """The release that was live before `current` ('' if there is none).

    When `current` is not in the history (switched by hand), the newest entry that is not
    `current` is the way back.
    """
    current = str(current or "")
    history = list(history)
    if current in history:
        index = len(history) - 1 - history[::-1].index(current)
        return history[index - 1] if index > 0 else ""
    others = [i for i in history if i != current]
    return others[-1] if others else ""


def release_rollback(history, current) -> list[str]:
    """History after going back from `current` to its previous release.

    The release rolled back from leaves the history (so a second rollback goes one further
    back, like popping a stack); the previous one becomes the last entry.
    """
    previous = release_previous(history, current)
    if not previous:
        raise AnsibleFilterError(f"release {current!r} has no previous release to roll back to")
    return release_activate([i for i in history if i != str(current)], previous)


def release_prune(dirs, history, current, keep) -> list[str]:
    """Release directories to delete: all but the newest `keep` of the history, never `current`
    nor the release before it. Directories that never went live (failed deploys) go too."""
    try:
        keep = int(keep)
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"the number of releases to keep must be an integer, not {keep!r}") from None
    if keep < 2:
        raise AnsibleFilterError(f"keep at least 2 releases (the live one and the one before it), not {keep}")
    history = list(history)
    kept = set(history[-keep:]) | {str(current or ""), release_previous(history, current)}
    return sorted(d for d in dirs if d not in kept)


def release_history_text(history) -> str:
    """The history file's content (a trailing newline, no timestamps: idempotent)."""
    return "".join(_check_id(i) + "\n" for i in history)


class FilterModule:
    def filters(self):
        return {
            "release_history": release_history,
            "release_activate": release_activate,
            "release_known": release_known,
            "release_previous": release_previous,
            "release_rollback": release_rollback,
            "release_prune": release_prune,
            "release_history_text": release_history_text,
        }
