"""manage.py and the WSGI app as real processes: .env picks the settings, gevent where due."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dotenv(tmp_path):
    """A .env for a staging process with a real SQLite file, outside the project tree."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "ENVIRONMENT=initech_demo.settings.staging\n"
        "SECRET_KEY='staging-only-test-key-with-#-and-spaces in it'\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        "ALLOWED_HOSTS=localhost,127.0.0.1\n"
    )
    return env_file


def process_env(env_file, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "ENVIRONMENT", "SECRET_KEY", "DATABASE_URL", "GEVENT_PATCH"}}
    env.update(DJANGO_ENV_FILE=str(env_file), **extra)
    return env


def manage(env_file, *args, **extra):
    return subprocess.run(
        [sys.executable, str(PROJECT / "manage.py"), *args],
        cwd=env_file.parent,  # not the project directory
        env=process_env(env_file, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_manage_py_reads_env_to_choose_settings_and_migrates(dotenv):
    result = manage(dotenv, "migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    assert (dotenv.parent / "db.sqlite3").is_file()
    shown = manage(dotenv, "diffsettings", "--output", "unified")
    assert shown.returncode == 0, shown.stderr
    assert "ENVIRONMENT = 'initech_demo.settings.staging'" in shown.stdout


def test_custom_commands_are_patched_unless_told_not_to(dotenv):
    assert manage(dotenv, "gevent_status").stdout.strip() == "patched"
    assert manage(dotenv, "gevent_status", GEVENT_PATCH="0").stdout.strip() == "unpatched"


def test_missing_environment_fails_with_a_clear_message(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\n")
    result = manage(env_file, "check")
    assert result.returncode != 0
    assert "ENVIRONMENT is not set" in result.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(("worker_class", "patched"), [("gevent", True), ("sync", False)])
def test_gunicorn_serves_the_app_with_the_worker_class(dotenv, worker_class, patched):
    assert manage(dotenv, "migrate", "--noinput").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", worker_class, "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "--no-control-socket", "initech_demo.wsgi:application"],
        cwd=PROJECT,
        env=process_env(dotenv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = get_json(f"http://127.0.0.1:{port}/healthz", deadline=time.monotonic() + 30)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert body["settings_module"] == "initech_demo.settings.staging", stderr
    assert body["gevent"]["socket_patched"] is patched
    assert body["database"]["reachable"] is True
