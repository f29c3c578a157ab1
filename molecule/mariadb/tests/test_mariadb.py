"""MariaDB through PyMySQL under gevent, as the guidelines do it for MySQL."""

import json
import shutil
import time

import pytest

from conftest import assert_no_secret_anywhere, healthz, http, PROJECT, run_site, vault, VENV

WEB = "web-prod-trixie"


@pytest.fixture(scope="module")
def web(hosts):
    return next(h for h in hosts if h.backend.get_hostname() == WEB)


@pytest.fixture(scope="module")
def db(hosts):
    return next(h for h in hosts if h.backend.get_hostname() != WEB)


def test_the_app_reaches_mariadb_through_pymysql_with_gevent(web):
    health = healthz(web)
    assert health["database"] == {"vendor": "mysql", "reachable": True}
    assert health["gevent"] == {"socket_patched": True}
    freeze = web.check_output(f"{VENV}/bin/python -m pip freeze")
    assert "PyMySQL==" in freeze and "mysqlclient" not in freeze


def test_database_url_is_mysql_with_the_password_encoded(web):
    script = "import environ, json; e = environ.Env(); e.read_env('/srv/initech-demo/shared/.env'); print(json.dumps(e.db()))"
    config = json.loads(web.check_output(f"{VENV}/bin/python -c %s", script))
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["PASSWORD"] == vault("prod")["vault_database_password"]


def test_pages_read_and_write_mariadb(web):
    before = json.loads(http(web, "/hits/")[1])["hits"]
    assert http(web, "/hits/", method="POST")[0] == 201
    assert json.loads(http(web, "/hits/")[1])["hits"] == before + 1


def test_only_the_web_host_has_a_user(db, web):
    address = web.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
    users = db.check_output("mariadb -N -e %s", "SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user LIKE 'initech%'")
    assert users.split() == [f"initech_demo_prod@{address}"]
    grants = db.check_output("mariadb -N -e %s", f"SHOW GRANTS FOR 'initech_demo_prod'@'{address}'")
    assert "ON `initech_demo_prod`.*" in grants


def test_slow_queries_wait_together_under_gevent(web):
    started = time.monotonic()
    status, body = http(web, "/ten-slow-requests/?seconds=2", host_header="127.0.0.1")
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert body.split() == [str(x * x) for x in range(1, 11)]
    assert elapsed < 12, f"10 x SLEEP(2) took {elapsed:.1f} s (serially: 20 s)"


def test_mysqlclient_is_refused_before_deploying(web, tmp_path):
    app = tmp_path / "initech-demo"
    shutil.copytree(PROJECT / "examples" / "initech-demo", app, ignore=shutil.ignore_patterns("__pycache__", ".env", "db.sqlite3"))
    lock = app / "requirements.txt"
    lock.write_text(lock.read_text() + "mysqlclient==2.2.7\n")
    master = healthz(web)["ppid"]
    result = run_site("-e", json.dumps({"django_app_src": str(app)}))
    assert result.returncode != 0
    assert "use PyMySQL instead" in result.stdout + result.stderr
    assert healthz(web)["ppid"] == master


def test_no_secret_in_verbose_output_or_readable_files(hosts, tmp_path):
    assert_no_secret_anywhere(hosts, {f"prod/{key}": value for key, value in vault("prod").items()}, tmp_path, "mariadb")
