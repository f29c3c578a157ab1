# Run by the venv's python: what the venv can run, as JSON. Imports the worker class module
# the way gunicorn will, so a missing dependency shows before the service is restarted.
import importlib
import importlib.util
import json
import sys

WORKERS = {"gevent": "gunicorn.workers.ggevent", "gthread": "gunicorn.workers.gthread", "sync": "gunicorn.workers.sync"}
found = {m: importlib.util.find_spec(m) is not None for m in ("gunicorn", "gevent", "psycopg2", "psycogreen")}
found["worker_error"] = ""
if found["gunicorn"]:
    try:
        importlib.import_module(WORKERS[sys.argv[1]])
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        found["worker_error"] = f"{type(error).__name__}: {error}"
print(json.dumps(found))
