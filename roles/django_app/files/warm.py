# Run by the live release's venv as the app's user, in its directory, with the service's settings,
# once a release with a pooled database went live: N transactions through pgbouncer held open at
# the same moment, so that pgbouncer opens the server connections the workers' first burst would
# otherwise wait for (each costs PostgreSQL a backend and an authentication). pgbouncer keeps them
# for server_idle_timeout.
#
#   argv: N, the database alias (default "default")
#   out:  one JSON line {"held": transactions held at once, "seconds": float, "error": text or null}
import json
import os
import sys
import threading
import time

count, alias = int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "default")
sys.path.insert(0, os.getcwd())
result = {"held": 0, "seconds": 0.0, "error": None}
started = time.monotonic()
try:
    import django

    django.setup()
    from django.db import connections, transaction

    # Each thread waits (10 s at most) until every one holds a transaction, hence a server
    # connection; a pool already in use by the live workers only makes some wait longer.
    barrier = threading.Barrier(count)
    lock = threading.Lock()
    errors = []

    def hold():
        try:
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                with lock:
                    result["held"] += 1
                try:
                    barrier.wait(timeout=10)
                except threading.BrokenBarrierError:
                    pass
        except Exception as error:  # noqa: BLE001 - reported; the release serves anyway
            with lock:
                errors.append(f"{type(error).__name__}: {error}")
            barrier.abort()
        finally:
            connections[alias].close()

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        result["error"] = errors[0][:300]
except Exception as error:  # noqa: BLE001
    result["error"] = f"{type(error).__name__}: {error}"[:300]
result["seconds"] = round(time.monotonic() - started, 2)
print(json.dumps(result))
