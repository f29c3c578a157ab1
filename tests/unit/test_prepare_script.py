"""roles/django_app/files/prepare.py, run as the deploy runs it (`manage.py shell -v 0 -c CONTENT`,
the steps in INITECH_PREPARE) on a copy of the demo app with the demo venv: migrate, collectstatic
and check --deploy in one start-up of Django, each step's output told apart by the output_steps
filter, a failing step named, and Django's system checks run before the first step."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import errors
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-demo" / "bin" / "python"
# As the role hands it over: lookup('ansible.builtin.file', ...) strips trailing whitespace.
SCRIPT = (ROOT / "roles" / "django_app" / "files" / "prepare.py").read_text().rstrip()

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="needs the demo venv (make demo-venv)")


@pytest.fixture
def release(tmp_path):
    """A release of the demo app with its .env, a SQLite database and a static root outside it."""
    code = tmp_path / "release"
    shutil.copytree(ROOT / "examples" / "initech-demo", code, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (tmp_path / ".env").write_text(
        "ENVIRONMENT=initech_demo.settings.staging\n"
        "SECRET_KEY=staging-only-test-key-that-is-long-enough-to-pass-the-deploy-checks-0123456789\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        "ALLOWED_HOSTS=localhost\n"
    )
    return code


def prepare(code, steps):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "ENVIRONMENT", "SECRET_KEY", "DATABASE_URL"}}
    env.update(DJANGO_ENV_FILE=str(code.parent / ".env"), STATIC_ROOT=str(code.parent / "static"),
               GEVENT_PATCH="0", PYTHONDONTWRITEBYTECODE="1", INITECH_PREPARE=" ".join(steps))
    return subprocess.run([str(PYTHON), "manage.py", "shell", "-v", "0", "-c", SCRIPT], cwd=code, env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def tables(code):
    with sqlite3.connect(code.parent / "db.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_steps_run_in_one_start_up_each_with_its_own_output(release):
    first = prepare(release, ["migrate", "collectstatic", "check"])
    assert first.returncode == 0, first.stderr
    out = errors.output_steps(first.stdout)
    assert list(out) == ["migrate", "collectstatic", "check"]
    assert "Applying demo.0001_initial... OK" in out["migrate"]
    assert "static files copied to '" + str(release.parent / "static") + "'" in out["collectstatic"]
    assert list(errors.output_steps(first.stderr)) == ["migrate", "collectstatic", "check"]
    assert any(t.startswith("demo_") for t in tables(release))
    # Again: nothing to apply, nothing to copy (what the deploy's changed_when reads).
    again = errors.output_steps(prepare(release, ["migrate", "collectstatic", "check"]).stdout)
    assert "No migrations to apply." in again["migrate"]
    assert "\n0 static files copied" in "\n" + again["collectstatic"]


def test_a_failing_migration_names_its_step_and_stops_the_rest(release):
    (release / "demo" / "migrations" / "0002_broken.py").write_text(
        "from django.db import migrations\n\n\n"
        "def fail(apps, schema_editor):\n    raise RuntimeError('this migration fails on purpose')\n\n\n"
        "class Migration(migrations.Migration):\n    dependencies = [('demo', '0001_initial')]\n"
        "    operations = [migrations.RunPython(fail)]\n")
    result = prepare(release, ["migrate", "collectstatic", "check"])
    assert result.returncode == 1
    err = errors.output_steps(result.stderr)
    assert list(err) == ["migrate"]  # the step that failed is the last one that started
    lines = errors.error_lines(err["migrate"])
    assert "RuntimeError: this migration fails on purpose" in lines
    assert any("0002_broken.py" in line for line in lines)
    assert not (release.parent / "static").exists()


def test_the_first_step_runs_the_system_checks_first_as_manage_py_would(release):
    # A model Django's checks refuse: migrate must not touch the database.
    models = release / "demo" / "models.py"
    models.write_text(models.read_text() + "\n\nclass Broken(models.Model):\n"
                      "    owner = models.ForeignKey('Nope', on_delete=models.CASCADE)\n")
    result = prepare(release, ["migrate", "collectstatic"])
    assert result.returncode == 1
    err = errors.output_steps(result.stderr)
    assert list(err) == ["migrate"]
    assert any("fields.E300" in line for line in errors.error_lines(err["migrate"]))
    assert not (release.parent / "db.sqlite3").exists() or tables(release) == set()


def test_check_is_the_deploy_check_at_error_level(release):
    # staging's settings leave HSTS off: a --deploy warning, shown on stderr, not a failure.
    result = prepare(release, ["check"])
    assert result.returncode == 0, result.stderr
    assert "security.W" in errors.output_steps(result.stderr)["check"]
