"""The start-up logic: which .env, which settings module, which processes gevent patches."""

import os

import pytest

from initech_demo import bootstrap


@pytest.mark.parametrize("command", ["migrate", "collectstatic", "makemigrations", "test", "shell", "check"])
def test_commands_that_must_not_be_patched(command):
    assert bootstrap.gevent_wanted(["manage.py", command], {}) is False


def test_other_commands_are_patched_like_the_guidelines_say():
    assert bootstrap.gevent_wanted(["manage.py", "gevent_status"], {}) is True
    assert bootstrap.gevent_wanted(["manage.py", "send_reminders", "--all"], {"GEVENT_PATCH": "auto"}) is True


def test_help_is_not_patched():
    assert bootstrap.gevent_wanted(["manage.py"], {}) is False
    assert bootstrap.gevent_wanted(["manage.py", "--version"], {}) is False


@pytest.mark.parametrize(("flag", "expected"), [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False)])
def test_gevent_patch_flag_forces_either_way(flag, expected):
    assert bootstrap.gevent_wanted(["manage.py", "migrate"], {"GEVENT_PATCH": flag}) is expected
    assert bootstrap.gevent_wanted(["manage.py", "gevent_status"], {"GEVENT_PATCH": flag}) is expected


def test_gevent_patch_flag_rejects_nonsense():
    with pytest.raises(bootstrap.ConfigurationError, match="GEVENT_PATCH must be 1, 0 or auto"):
        bootstrap.gevent_wanted(["manage.py", "migrate"], {"GEVENT_PATCH": "maybe"})


def test_environment_is_the_settings_module():
    assert bootstrap.settings_module_for("initech_demo.settings.prod") == "initech_demo.settings.prod"
    assert bootstrap.settings_module_for("custom.settings.zeev") == "custom.settings.zeev"


def test_environment_short_form():
    assert bootstrap.settings_module_for("staging") == "initech_demo.settings.staging"


def test_missing_environment_says_what_to_set():
    with pytest.raises(bootstrap.ConfigurationError, match=r"ENVIRONMENT is not set: put ENVIRONMENT=initech_demo\.settings\."):
        bootstrap.settings_module_for("  ")


def test_env_file_lives_next_to_manage_py():
    assert bootstrap.ENV_FILE.parent == bootstrap.BASE_DIR
    assert (bootstrap.BASE_DIR / "manage.py").is_file()


def test_read_env_loads_values_and_keeps_the_process_environment(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "ENVIRONMENT=initech_demo.settings.staging\n"
        "SECRET_KEY='a#b c$d'\n"
        "DEBUG=off\n"
    )
    for key in ("ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DEBUG", "on")  # already set: .env must not override it
    env = bootstrap.read_env(env_file)
    assert os.environ["ENVIRONMENT"] == "initech_demo.settings.staging"
    assert env.str("SECRET_KEY") == "a#b c$d"
    assert env.bool("DEBUG") is True


def test_select_settings_uses_environment_unless_already_chosen(monkeypatch):
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "dev")
    assert bootstrap.select_settings(bootstrap.environ.Env()) == "initech_demo.settings.dev"
    monkeypatch.setenv("ENVIRONMENT", "prod")
    assert bootstrap.select_settings(bootstrap.environ.Env()) == "initech_demo.settings.dev"


def test_db_drivers_are_made_cooperative():
    assert bootstrap.patch_db_drivers() == ["psycopg2", "pymysql"]
    import psycopg2.extensions

    assert psycopg2.extensions.get_wait_callback() is not None
    psycopg2.extensions.set_wait_callback(None)


def test_pymysql_stands_in_for_mysqlclient_as_django_requires():
    import sys

    assert bootstrap.install_pymysql() is True
    import MySQLdb

    assert sys.modules["MySQLdb"].__name__ == "pymysql"
    assert MySQLdb.version_info >= (2, 2, 1)
    from django.db.backends.mysql import base  # raises ImproperlyConfigured on an old version

    assert base.Database is MySQLdb
