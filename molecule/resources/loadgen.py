"""Load generator run inside a test host: requests through nginx until told to stop.

    python3 loadgen.py OUT STOPFILE [THREADS [HOST [PAUSE]]]

Each thread loops over GET /healthz (fast) and, one in four, GET /wait/?seconds=1 (a request
still in flight when a reload or restart begins), PAUSE seconds (default 0.05) between two
requests: with 8 threads a request starts every few milliseconds, so any moment nginx or
gunicorn refuses one is seen, without the load taking the machine's CPUs from the deploy it
watches. Every response is recorded: HTTP status and, for /healthz, the version served. When
STOPFILE appears, the totals go to OUT as JSON.
"""

import http.client
import json
import os
import sys
import threading
import time

OUT, STOP = sys.argv[1], sys.argv[2]
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
HOST = sys.argv[4] if len(sys.argv) > 4 else "localhost"
PAUSE = float(sys.argv[5]) if len(sys.argv) > 5 else 0.05
lock = threading.Lock()
totals = {"sent": 0, "failed": 0, "errors": [], "versions": [], "long": 0}


def record(ok, error=None, version=None, long_request=False):
    with lock:
        totals["sent"] += 1
        totals["long"] += long_request
        if not ok:
            totals["failed"] += 1
            if len(totals["errors"]) < 20:
                totals["errors"].append(error)
        if version and (not totals["versions"] or totals["versions"][-1][0] != version):
            totals["versions"].append([version, time.time()])


def worker(number):
    count = 0
    while not os.path.exists(STOP):
        count += 1
        time.sleep(PAUSE)
        long_request = number % 4 == 0 and count % 2 == 0
        path = "/wait/?seconds=1" if long_request else "/healthz"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=90)
            conn.request("GET", path, headers={"Host": HOST})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 200:
                record(False, f"{path}: HTTP {response.status} {body[:200]!r}", long_request=long_request)
                continue
            version = json.loads(body).get("version") if path == "/healthz" else None
            record(True, version=version, long_request=long_request)
        except Exception as error:  # noqa: BLE001 - every failure counts and is reported
            record(False, f"{path}: {type(error).__name__}: {error}", long_request=long_request)


threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with open(OUT + ".tmp", "w") as out:
    json.dump(totals, out)
os.replace(OUT + ".tmp", OUT)
