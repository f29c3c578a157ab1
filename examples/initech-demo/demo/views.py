"""The demo's endpoints: a health check, the guidelines' gevent showcase, and a DB page."""

from __future__ import annotations

import os
import re
import socket
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

import initech_demo
from demo.models import Hit
from initech_demo.bootstrap import socket_patched

# SQL that waits N seconds in the database server, per backend.
SLEEP_SQL = {"postgresql": "SELECT pg_sleep(%s)", "mysql": "SELECT SLEEP(%s)"}


class BadParameter(ValueError):
    pass


def _number(request: HttpRequest, name: str, default: float, low: float, high: float, kind=float):
    raw = request.GET.get(name)
    if raw is None:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a {kind.__name__}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low:g} and {high:g}")
    return value


def _bad(error: BadParameter) -> JsonResponse:
    return JsonResponse({"error": str(error)}, status=400)


def _database_status() -> dict:
    status = {"vendor": connection.vendor, "reachable": False}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The class only: a driver's message can carry the connection string.
        status["error"] = type(error).__name__
    else:
        status["reachable"] = True
    return status


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """What an operator asks a fresh deploy: which code, which settings, gevent, the DB."""
    database = _database_status()
    body = {
        "status": "ok" if database["reachable"] else "degraded",
        "version": initech_demo.__version__,
        "environment": settings.ENVIRONMENT,
        "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
        "gevent": {"socket_patched": socket_patched()},
        "database": database,
        "pid": os.getpid(),
        "ppid": os.getppid(),
        # Whether the request counts as HTTPS: behind nginx, from X-Forwarded-Proto.
        "secure": request.is_secure(),
    }
    return JsonResponse(body, status=200 if database["reachable"] else 503)


@require_GET
def slow_sql(request: HttpRequest) -> HttpResponse:
    """The guidelines' slow query: wait in the database, then return x squared."""
    try:
        x = _number(request, "x", 1, -(10**6), 10**6, kind=int)
        seconds = _number(request, "seconds", 5, 0, 60)
    except BadParameter as error:
        return _bad(error)
    sleep_sql = SLEEP_SQL.get(connection.vendor)
    if sleep_sql is None:
        return JsonResponse(
            {"error": f"slow_sql needs PostgreSQL or MySQL, not {connection.vendor}"}, status=501
        )
    with connection.cursor() as cursor:
        cursor.execute(sleep_sql, [seconds])
        cursor.execute("SELECT %s * %s", [x, x])
        row = cursor.fetchone()
    return HttpResponse(f"{int(row[0])}", content_type="text/plain")


def _self_url(request: HttpRequest, path: str) -> str:
    base = settings.SELF_URL.rstrip("/") or f"{request.scheme}://{request.get_host()}"
    return base + path


@require_GET
def ten_slow_requests(request: HttpRequest) -> HttpResponse:
    """The guidelines' showcase: n requests to slow_sql in parallel greenlets, one process.

    Under the gevent worker they wait together (about one slow_sql long); under a sync
    worker they run one after another, or wait on each other until they time out.
    """
    import gevent
    import requests

    try:
        count = _number(request, "n", 10, 1, 200, kind=int)
        seconds = _number(request, "seconds", 5, 0, 60)
    except BadParameter as error:
        return _bad(error)
    url = _self_url(request, "/slow-sql/")
    session = requests.Session()
    results: dict[int, str] = {}

    def green_worker(x: int) -> None:
        try:
            response = session.get(url, params={"x": x, "seconds": seconds}, timeout=seconds + 30)
            results[x] = response.text if response.ok else f"error: HTTP {response.status_code}"
        except requests.RequestException as error:
            results[x] = f"error: {type(error).__name__}"

    started = time.monotonic()
    gevent.joinall([gevent.spawn(green_worker, x) for x in range(1, count + 1)])
    elapsed = time.monotonic() - started
    lines = [results[x] for x in range(1, count + 1)]
    return HttpResponse(
        "\n".join(lines) + "\n",
        content_type="text/plain",
        headers={"X-Elapsed-Seconds": f"{elapsed:.3f}"},
    )


@require_GET
def wait(request: HttpRequest) -> JsonResponse:
    """Wait N seconds on pure I/O (a socket read that times out), no database involved."""
    try:
        seconds = _number(request, "seconds", 1, 0, 60)
    except BadParameter as error:
        return _bad(error)
    started = time.monotonic()
    left, right = socket.socketpair()
    try:
        left.settimeout(seconds)
        try:
            left.recv(1)
        except (TimeoutError, socket.timeout):
            pass
    finally:
        left.close()
        right.close()
    return JsonResponse({"waited": round(time.monotonic() - started, 3), "pid": os.getpid()})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def hits(request: HttpRequest) -> JsonResponse:
    """GET counts the recorded hits; POST records one (a page that writes the database)."""
    if request.method == "POST":
        Hit.objects.create(environment=settings.ENVIRONMENT)
        status = 201
    else:
        status = 200
    return JsonResponse({"hits": Hit.objects.count(), "environment": settings.ENVIRONMENT}, status=status)


# What an upload may be named: letters, digits, dots, dashes (the storage picks a free name).
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")


@csrf_exempt
@require_http_methods(["POST"])
def upload(request: HttpRequest) -> JsonResponse:
    """Save the request body as an upload under media/x/y/ (as a FileField with upload_to='x/y/'
    would), and say where it is served."""
    name = request.GET.get("name", "upload.txt")
    if not UPLOAD_NAME.match(name):
        return _bad(BadParameter("name: letters, digits, dots and dashes"))
    saved = default_storage.save(f"x/y/{name}", ContentFile(request.body))
    return JsonResponse({"name": saved, "url": default_storage.url(saved)}, status=201)
