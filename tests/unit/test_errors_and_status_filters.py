"""error_lines says why a command failed; status_line formats the status table; redact_values
hides secrets in text another program wrote."""

import errors
import status
from redact import redact_values

CHECKS = """SystemCheckError: System check identified some issues:

ERRORS:
?: (postgres.E005) The connection failed.
home.Thing.owner: (fields.E300) Field defines a relation with model 'Nope', which is not installed.

WARNINGS:
?: (staticfiles.W004) The directory '/srv/app/static' in the STATICFILES_DIRS setting does not exist.

System check identified 3 issues (0 silenced).
"""

TRACEBACK = """Operations to perform:
  Apply all migrations: demo
Traceback (most recent call last):
  File "/srv/app/manage.py", line 22, in <module>
    main()
  File "/srv/app/demo/migrations/0002_fail.py", line 5, in fail
    raise RuntimeError('this migration fails on purpose')
RuntimeError: this migration fails on purpose
"""


def test_the_errors_of_django_checks_not_the_last_warning():
    assert errors.error_lines(CHECKS) == [
        "?: (postgres.E005) The connection failed.",
        "home.Thing.owner: (fields.E300) Field defines a relation with model 'Nope', which is not installed.",
    ]


def test_a_traceback_gives_its_exception_and_where():
    assert errors.error_lines(TRACEBACK) == [
        'File "/srv/app/demo/migrations/0002_fail.py", line 5, in fail',
        "RuntimeError: this migration fails on purpose",
    ]


def test_chained_tracebacks_give_each_exception():
    text = TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n" + TRACEBACK.replace(
        "RuntimeError: this migration fails on purpose", "ValueError: and then this")
    assert errors.error_lines(text)[-1] == "ValueError: and then this"
    assert "RuntimeError: this migration fails on purpose" in errors.error_lines(text)


def test_other_errors_and_the_fallback():
    assert errors.error_lines("Applying x... OK\nCommandError: Conflicting migrations detected\n") == [
        "CommandError: Conflicting migrations detected"]
    assert errors.error_lines("a\n\nb\nc\nd\n") == ["b", "c", "d"]
    assert errors.error_lines("") == [] and errors.error_lines(None) == []
    assert len(errors.error_lines("\n".join(f"Error: {n}" for n in range(30)), limit=5)) == 5


def test_status_line():
    fmt = "%-10s %-6s %-14s %-5s %-4s %-4s %-4s %-8s %-4s %s"
    row = status.status_line({"host": "web1", "app": "shop", "live": "abc", "live_since": "x", "previous": "",
                              "venv": "v", "workers": 2, "workers_expected": 2, "service": "active/running",
                              "health": "ok", "free_mb": 100, "interrupted": True}, fmt)
    assert row.split() == ["web1", "shop", "abc", "(interrupted)", "x", "-", "v", "2/2", "active/running", "ok", "100", "MB"]
    assert "?" in status.status_line({}, fmt)


def test_redact_values():
    text = "connect to postgres://app:p%40ss%3Aword@db failed; key=s3cr3t-key; a=ab"
    assert redact_values(text, ["p@ss:word", "s3cr3t-key", "ab", None]) == (
        "connect to postgres://app:***@db failed; key=***; a=ab")
