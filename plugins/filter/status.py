"""Format a row of `initech.django.status`'s table.

    status_line(status, format) -> one line of the table for an app's status (django_app's status.yml)
"""

from __future__ import annotations


def status_line(status: dict, fmt: str) -> str:
    """The row of the status table for one app on one host, in the table's printf-style format."""
    s = dict(status or {})
    workers = f"{s.get('workers', '?')}/{s.get('workers_expected') if s.get('workers_expected') is not None else '?'}"
    flags = (" (deploying)" if s.get("deploy_running") else "") + (" (interrupted)" if s.get("interrupted") else "")
    free = f"{s['free_mb']} MB" if s.get("free_mb") is not None else "?"
    return fmt % (s.get("host", "?"), s.get("app", "?"), (s.get("live") or "-") + flags, s.get("live_since") or "-",
                  s.get("previous") or "-", s.get("venv") or "-", workers, s.get("service", "?"),
                  s.get("health", "?"), free)


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"status_line": status_line}
