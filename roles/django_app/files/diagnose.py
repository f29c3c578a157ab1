# Run by the release's venv as the app's user, in the release directory, with the environment's
# settings (DJANGO_SETTINGS_MODULE), after a health check failed: the same request, made through
# Django's test client with exceptions propagated, so the failure can say what the app raised.
# Django's own logging may be silent (DEBUG off, no LOGGING: errors go to mail_admins only).
#
#   argv: path, host (Host header), scheme (http or https)
#   out:  one JSON line {"status": int or null, "exception": "module.Type: message" or null,
#                        "where": ["file:line in function", ...] (the last frames)}
import json
import os
import sys
import traceback

path, host, scheme = sys.argv[1], sys.argv[2] or "localhost", sys.argv[3]
sys.path.insert(0, os.getcwd())
result = {"status": None, "exception": None, "where": []}
try:
    import django

    django.setup()
    from django.test import Client

    client = Client(raise_request_exception=True, HTTP_HOST=host)
    response = client.get(path, secure=scheme == "https")
    result["status"] = response.status_code
except BaseException as error:  # noqa: BLE001 - what the app raised is the answer
    kind = type(error)
    # Whole: the play redacts secrets from it before it shortens it (a cut secret would not match).
    result["exception"] = f"{kind.__module__}.{kind.__qualname__}: {error}"
    frames = traceback.extract_tb(error.__traceback__)
    result["where"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-4:]]
print(json.dumps(result))
