"""Filters for the database side of a deploy.

    database_url(parts)                   -> a DATABASE_URL django-environ parses back exactly
    requirements_driver_problems(lock, worker_class) -> why the lock's DB driver would block gevent
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from ansible.errors import AnsibleFilterError

try:  # the sibling filter file, whether loaded by Ansible or imported by the unit tests
    from ansible_collections.initech.django.plugins.filter.requirements import requirements_parse
except ImportError:  # pragma: no cover - unit tests put plugins/filter on sys.path
    from requirements import requirements_parse

_SCHEMES = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


def database_url(parts) -> str:
    """Compose a URL from engine, host, port, name, user, password (and options).

    Every part is percent-encoded, so a password with '@:/#%?' or spaces survives; the error
    for a missing part names the part, never the password.
    """
    if not isinstance(parts, dict):
        raise AnsibleFilterError("database_url needs a mapping with engine, host, name, user, password")
    engine = str(parts.get("engine", "postgres")).lower()
    if engine == "sqlite":
        path = str(parts.get("name", ""))
        if not path.startswith("/"):
            raise AnsibleFilterError("database_url: a sqlite name must be an absolute path")
        return "sqlite:///" + quote(path, safe="/")
    scheme = _SCHEMES.get(engine)
    if scheme is None:
        raise AnsibleFilterError(f"database_url: engine must be postgres, mysql or sqlite, not {engine!r}")
    # Through a unix socket (a path as host, e.g. pgbouncer's) no password may be needed.
    required = ("host", "name", "user") if str(parts.get("host", "")).startswith("/") else ("host", "name", "user", "password")
    missing = [key for key in required if not str(parts.get(key) or "")]
    if missing:
        raise AnsibleFilterError("database_url: missing " + ", ".join(missing))
    port = int(parts.get("port") or _DEFAULT_PORTS[scheme])
    password = str(parts.get("password") or "")
    credentials = quote(str(parts["user"]), safe="") + (":" + quote(password, safe="") if password else "")
    options = dict(parts.get("options") or {})
    host = str(parts["host"])
    if host.startswith("/"):
        # django-environ does not decode a socket directory in the host part: pass it to libpq
        # as the host option instead (Django leaves OPTIONS' host alone when HOST is empty).
        options["host"], host = host, ""
    url = f"{scheme}://{credentials}@{quote(host, safe='')}:{port}/{quote(str(parts['name']), safe='')}"
    if options:
        url += "?" + urlencode(sorted((str(k), str(v)) for k, v in options.items()))
    return url


def requirements_driver_problems(lock_text: str, worker_class: str = "gevent") -> list[str]:
    """Database drivers in a lock that would block gevent's event loop, with what to use instead."""
    if worker_class != "gevent":
        return []
    names = {e["canonical"] for e in requirements_parse(lock_text) if e["kind"] == "requirement"}
    problems = []
    if names & {"psycopg2", "psycopg2-binary"} and "psycogreen" not in names:
        problems.append(
            "psycopg2 waits for PostgreSQL in C code, blocking every greenlet of the worker: add psycogreen "
            "to requirements_to_freeze.txt and re-lock (the gunicorn role patches it in post_fork), or move to "
            "psycopg 3, which needs no patching"
        )
    if "mysqlclient" in names:
        problems.append(
            "mysqlclient (MySQLdb) is C code that blocks the gevent loop: use PyMySQL instead "
            "(pymysql.install_as_MySQLdb() before Django loads)"
        )
    return problems


def database_access(clients, server: str, engine: str = "postgres", reserve: int = 10) -> dict:
    """What a database server must grant its clients (the web hosts).

    clients: one mapping per web host: ``database`` (engine, host, name, user, password, ...),
    ``address`` (the host's IP) and ``connections`` (workers x greenlets it may open). Only the
    clients whose database of this engine lives on ``server`` count. Returns ``databases``
    (unique by name: name, user, password), ``clients`` (database, user, address: one per web
    host) and ``max_connections`` (the sum plus ``reserve``, at least 100).
    """
    wanted = _SCHEMES.get(str(engine).lower())
    mine = [
        c for c in clients or []
        if str(c.get("database", {}).get("host", "")) == server
        and _SCHEMES.get(str(c["database"].get("engine", "postgres")).lower()) == wanted
    ]
    databases, seen = [], set()
    for client in mine:
        db = client["database"]
        if db["name"] not in seen:
            seen.add(db["name"])
            databases.append({"name": db["name"], "user": db["user"], "password": db["password"]})
    allowed = [
        {"database": c["database"]["name"], "user": c["database"]["user"], "address": str(c["address"])}
        for c in mine
        if c.get("address")
    ]
    max_connections = sum(int(c.get("connections") or 0) for c in mine) + int(reserve)
    return {"databases": databases, "clients": allowed, "max_connections": max(max_connections, 100)}


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {
            "database_url": database_url,
            "requirements_driver_problems": requirements_driver_problems,
            "database_access": database_access,
        }
