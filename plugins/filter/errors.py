"""What a failed command's error output says, in a few lines.

    error_lines(text, limit=12) -> the lines that explain the failure
    output_steps(text)            -> {step: its output}, for output split by "== initech: STEP" lines

The last line of stderr is rarely the cause: Django's system checks print their ERRORS: before their
WARNINGS:, and a traceback ends with the exception but starts with where it came from.
"""

from __future__ import annotations

import re

_CHECK_ID = re.compile(r"\(([a-z_.]+\.)?E[0-9]+\)")


def error_lines(text, limit: int = 12) -> list[str]:
    """The lines of a command's output that explain why it failed, most telling first.

    - Django's system checks: the ERRORS: section (not the warnings);
    - a Python traceback: its last frame and the exception (chained ones too);
    - otherwise the lines naming an error (CommandError:, Error:, error:, FATAL), else the last lines.
    """
    lines = [line.rstrip() for line in str(text or "").splitlines()]
    found: list[str] = []
    if "ERRORS:" in lines:
        start = lines.index("ERRORS:")
        for line in lines[start:]:
            if line in ("WARNINGS:",) or (line.startswith("System check identified") and found):
                break
            if line and line != "ERRORS:":
                found.append(line.strip())
    if not found and any(line.startswith("Traceback (most recent call last):") for line in lines):
        for number, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last):"):
                frames = [n for n in range(number + 1, len(lines)) if lines[n].startswith("  File ")]
                end = next((n for n in range(number + 1, len(lines)) if lines[n] and not lines[n].startswith(" ")),
                           len(lines))
                where = [lines[frames[-1]].strip()] if frames and frames[-1] < end else []
                found += where + [lines[end]] if end < len(lines) else where
    if not found:
        found = [line.strip() for line in lines
                 if re.search(r"(CommandError|Error|error|FATAL|fatal|Exception):", line) or _CHECK_ID.search(line)]
    if not found:
        found = [line for line in lines if line.strip()][-3:]
    return found[-int(limit):] if len(found) > int(limit) else found


_STEP = re.compile(r"^== initech: (\S+)$")


def output_steps(text) -> dict:
    """Split the output of a command that runs several steps (roles/django_app/files/prepare.py)
    into each step's own output, by the "== initech: STEP" line printed before each; the output
    before the first is left out."""
    steps: dict = {}
    current = None
    for line in str(text or "").splitlines():
        found = _STEP.match(line)
        if found:
            current = found.group(1)
            steps[current] = []
        elif current is not None:
            steps[current].append(line)
    return {step: "\n".join(lines) for step, lines in steps.items()}


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"error_lines": error_lines, "output_steps": output_steps}
