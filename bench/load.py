"""Fire N concurrent GET requests at one URL and report what happened, as JSON.

Runs inside the web host with the app venv's python (for gevent): each request gets its own
greenlet and its own TCP connection, like N independent browsers.

    python load.py URL N [TIMEOUT_SECONDS]
"""

from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402


def one(url, timeout, results):
    parts = urlsplit(url)
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        body = response.read()
        ok = response.status == 200
        error = None if ok else f"HTTP {response.status}"
    except Exception as exc:  # noqa: BLE001 - every failure is a data point
        ok, body, error = False, b"", type(exc).__name__
    results.append({"seconds": time.monotonic() - started, "ok": ok, "error": error, "bytes": len(body)})


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 150
    results = []
    started = time.monotonic()
    gevent.joinall([gevent.spawn(one, url, timeout, results) for _ in range(count)])
    wall = time.monotonic() - started
    latencies = [r["seconds"] for r in results]
    errors = [r["error"] for r in results if not r["ok"]]
    print(json.dumps({
        "requests": count,
        "wall": round(wall, 3),
        "p50": round(percentile(latencies, 0.50), 3),
        "p99": round(percentile(latencies, 0.99), 3),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
    }))


if __name__ == "__main__":
    main()
