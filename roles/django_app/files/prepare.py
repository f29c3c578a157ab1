# Run by `manage.py shell -v 0 -c` in the staged release, as the app's user (prepare.yml): the
# steps INITECH_PREPARE names (migrate, collectstatic, check), in that order, in one start-up of
# Django instead of one per manage.py command. Each runs as its manage.py command would: the
# first runs Django's system checks before it does anything (a release whose checks fail is not
# migrated), `check` is `check --deploy --fail-level ERROR`. Before each step a line
# "== initech: STEP" on stdout and on stderr tells the steps' output apart; a step that fails
# ends the run (exit status 1, its error on stderr, as manage.py shows it).
import os
import sys

from django.core.management import call_command

for number, step in enumerate(os.environ["INITECH_PREPARE"].split()):
    for stream in (sys.stdout, sys.stderr):
        print(f"== initech: {step}", file=stream, flush=True)
    if step == "check":
        call_command("check", deploy=True, fail_level="ERROR")
    elif step in ("migrate", "collectstatic"):
        call_command(step, interactive=False, skip_checks=number > 0)
    else:
        raise SystemExit(f"prepare.py: unknown step {step}")
    sys.stdout.flush()
    sys.stderr.flush()
