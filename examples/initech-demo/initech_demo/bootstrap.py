"""Process start-up shared by manage.py and wsgi.py.

The guidelines: manage.py and wsgi.py read ``.env`` first, to learn from ``ENVIRONMENT`` which
settings module to load; base settings read it a second time for the values. They also make the
process cooperative with gevent (and the database driver with it), except for the management
commands that must run unpatched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import environ

# The project root: where manage.py and .env live, whatever the current directory is.
BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"
SETTINGS_PACKAGE = "initech_demo.settings"

# Management commands that run without gevent's monkey patching: they fork or use threads
# (multiprocessing breaks under patching), change the schema or files in bulk, or are
# interactive. Anything else (a custom command doing many HTTP calls, say) is patched, as the
# guidelines do. GEVENT_PATCH=1/0 in the environment forces either way.
UNPATCHED_COMMANDS = frozenset(
    {
        "changepassword",
        "check",
        "collectstatic",
        "compilemessages",
        "createsuperuser",
        "dbshell",
        "dumpdata",
        "flush",
        "loaddata",
        "makemessages",
        "makemigrations",
        "migrate",
        "runserver",
        "shell",
        "showmigrations",
        "sqlmigrate",
        "squashmigrations",
        "test",
    }
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigurationError(RuntimeError):
    """The process environment cannot start the app; the message says what to fix."""


def read_env(env_file: str | os.PathLike[str] | None = None) -> environ.Env:
    """Load ``.env`` (next to manage.py, or ``DJANGO_ENV_FILE``) into ``os.environ``.

    Variables already in the process environment win, as django-environ always does.
    A missing file is not an error: the values may come from the process environment.
    """
    path = Path(env_file or os.environ.get("DJANGO_ENV_FILE") or ENV_FILE)
    if path.is_file():
        environ.Env.read_env(str(path))
    return environ.Env()


def settings_module_for(environment: str) -> str:
    """Map ENVIRONMENT to a settings module.

    The guidelines' value is the module itself (``initech_demo.settings.prod``); a bare name
    (``prod``) is accepted as a short form of the same thing.
    """
    environment = environment.strip()
    if not environment:
        raise ConfigurationError(
            f"ENVIRONMENT is not set: put ENVIRONMENT={SETTINGS_PACKAGE}.<prod|staging|dev> "
            f"in {ENV_FILE} or in the process environment"
        )
    if "." not in environment:
        return f"{SETTINGS_PACKAGE}.{environment}"
    return environment


def select_settings(env: environ.Env) -> str:
    """Set DJANGO_SETTINGS_MODULE from ENVIRONMENT unless it is already set; return it."""
    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module_for(env.str("ENVIRONMENT", default=""))
    return os.environ["DJANGO_SETTINGS_MODULE"]


def _flag(environ_: Mapping[str, str]) -> bool | None:
    value = environ_.get("GEVENT_PATCH", "auto").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in {"", "auto"}:
        return None
    raise ConfigurationError(f"GEVENT_PATCH must be 1, 0 or auto, not {value!r}")


def gevent_wanted(argv: Sequence[str], environ_: Mapping[str, str]) -> bool:
    """Should a manage.py process with this argv be monkey patched?"""
    forced = _flag(environ_)
    if forced is not None:
        return forced
    command = argv[1] if len(argv) > 1 else ""
    if not command or command.startswith("-"):
        return False  # help or version: nothing to patch for
    return command not in UNPATCHED_COMMANDS


def socket_patched() -> bool:
    """True when gevent has patched the socket module in this process."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))


def patch_gevent() -> None:
    """The guidelines' patching: gevent's patch_all, then the database drivers."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    patch_db_drivers()


# The oldest mysqlclient Django 5.2 accepts; PyMySQL reports it when standing in as MySQLdb.
MYSQLCLIENT_VERSION = (2, 2, 1, "final", 0)


def install_pymysql() -> bool:
    """Let PyMySQL stand in for mysqlclient (MySQLdb), in every process, patched or not.

    The guidelines use PyMySQL instead of mysqlclient: pure Python, so under gevent its
    sockets are cooperative. Django checks the MySQLdb version, so it reports the oldest
    mysqlclient Django accepts.
    """
    try:
        import pymysql
    except ImportError:
        return False
    pymysql.version_info = MYSQLCLIENT_VERSION
    pymysql.install_as_MySQLdb()
    return True


def patch_db_drivers() -> list[str]:
    """Make the installed database drivers cooperative under gevent; return what was patched.

    psycopg2 is C code that would block the event loop: psycogreen installs gevent's wait
    callback, so each greenlet waits on its own connection. psycopg 3 needs no patching.
    """
    patched = []
    try:
        from psycogreen.gevent import patch_psycopg
    except ImportError:
        pass
    else:
        patch_psycopg()
        patched.append("psycopg2")
    if install_pymysql():
        patched.append("pymysql")
    return patched


def prepare_wsgi(environ_: Mapping[str, str] | None = None) -> None:
    """Patch a WSGI process the way its server needs.

    Under gunicorn's gevent worker the worker has already patched everything after the fork;
    only the database driver is left. Under another worker class (sync, gthread: what the
    benchmark compares against) nothing is patched unless GEVENT_PATCH=1 asks for it.
    """
    environ_ = os.environ if environ_ is None else environ_
    if socket_patched():
        patch_db_drivers()
    elif _flag(environ_):
        patch_gevent()
    else:
        install_pymysql()
