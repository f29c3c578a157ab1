"""What two Django apps on one machine would share by accident.

    app_clashes(app, others) -> ["the user shop with blog@web1", ...] (empty: nothing shared)

Each app is a mapping: host (its inventory name), name, root, user, group, listens (gunicorn's
socket and TCP binds), server_names (nginx), pgbouncer (the settings every app on the machine's
one pgbouncer shares, or None when the app does not pool). A value that is None or missing is not
known (an app of the inventory outside this run tells only what its inventory sets) and is not
compared.
"""

from __future__ import annotations


def _known(value):
    return value is not None and value != "" and value != []


def app_clashes(app: dict, others: list) -> list:
    """Every way `app` and one of `others` (apps of the same machine) would collide, named."""
    found = []
    for other in others or []:
        where = other.get("host", "?")
        if _known(app.get("name")) and app.get("name") == other.get("name"):
            found.append(f"the app name {app['name']} with {where}")
        for key, label in (("root", "the directory"), ("user", "the user"), ("group", "the group")):
            if _known(app.get(key)) and app.get(key) == other.get(key):
                found.append(f"{label} {app[key]} with {where}")
        for key, label in (("listens", ""), ("server_names", "the host name ")):
            for value in app.get(key) or []:
                if value in (other.get(key) or []):
                    found.append(f"{label}{value} with {where}")
        mine, theirs = app.get("pgbouncer"), other.get("pgbouncer")
        if mine and theirs:
            differ = sorted(k for k in set(mine) | set(theirs) if str(mine.get(k)) != str(theirs.get(k)))
            if differ:
                found.append(f"pgbouncer settings that differ ({', '.join('pgbouncer_' + k for k in differ)}) with {where}")
    return list(dict.fromkeys(found))


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"app_clashes": app_clashes}
