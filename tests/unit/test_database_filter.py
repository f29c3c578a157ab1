"""database_url round-trips through django-environ; driver checks name the fix."""

import environ
import pytest
from ansible.errors import AnsibleFilterError

import database as f

HARD_PASSWORD = "p@ss:w/rd#50%?& x'\"é"


@pytest.mark.parametrize("engine", ["postgres", "postgresql", "mysql", "mariadb"])
def test_url_reads_back_exactly_through_django_environ(engine):
    parts = {"engine": engine, "host": "db-1.internal", "port": 6543, "name": "app_prod", "user": "app:user@x", "password": HARD_PASSWORD}
    config = environ.Env.db_url_config(f.database_url(parts))
    assert config["PASSWORD"] == HARD_PASSWORD
    assert config["USER"] == "app:user@x"
    assert config["HOST"] == "db-1.internal"
    assert config["PORT"] == 6543
    assert config["NAME"] == "app_prod"
    expected = "django.db.backends.postgresql" if "postgres" in engine else "django.db.backends.mysql"
    assert config["ENGINE"] == expected


def test_default_ports_and_options():
    url = f.database_url({"engine": "mysql", "host": "db", "name": "n", "user": "u", "password": "p", "options": {"charset": "utf8mb4"}})
    assert url == "mysql://u:p@db:3306/n?charset=utf8mb4"
    assert environ.Env.db_url_config(url)["OPTIONS"] == {"charset": "utf8mb4"}
    assert f.database_url({"host": "db", "name": "n", "user": "u", "password": "p"}) == "postgres://u:p@db:5432/n"


def test_a_unix_socket_host_needs_no_password():
    url = f.database_url({"host": "/run/pgbouncer", "port": 6432, "name": "app", "user": "app", "password": ""})
    assert url == "postgres://app@:6432/app?host=%2Frun%2Fpgbouncer"
    config = environ.Env.db_url_config(url)
    assert (config["HOST"], config["PORT"], config["USER"], config["PASSWORD"]) == ("", 6432, "app", "")
    assert config["OPTIONS"] == {"host": "/run/pgbouncer"}


def test_connection_options_in_the_url_reach_django_as_settings():
    """Behind transaction pooling the app needs DISABLE_SERVER_SIDE_CURSORS: the deploy puts it in
    the URL (django_app's vars), so an app that reads only env.db() gets it, as a bool: `True`
    (django-environ evaluates Python literals), where `true` would stay a truthy string."""
    url = f.database_url({"host": "/run/pgbouncer", "port": 6432, "name": "app", "user": "app", "password": "",
                          "options": {"disable_server_side_cursors": "True", "conn_max_age": 0}})
    config = environ.Env.db_url_config(url)
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["CONN_MAX_AGE"] == 0
    assert config["OPTIONS"] == {"host": "/run/pgbouncer"}
    assert environ.Env.db_url_config(url.replace("=True", "=true"))["DISABLE_SERVER_SIDE_CURSORS"] == "true"


def test_sqlite():
    url = f.database_url({"engine": "sqlite", "name": "/srv/app/shared/db.sqlite3"})
    assert environ.Env.db_url_config(url)["NAME"] == "/srv/app/shared/db.sqlite3"


def test_missing_parts_are_named_never_the_password():
    with pytest.raises(AnsibleFilterError) as error:
        f.database_url({"engine": "postgres", "host": "", "name": "n", "user": "", "password": "hunter2"})
    assert "missing host, user" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_unknown_engine():
    with pytest.raises(AnsibleFilterError, match="engine must be postgres, mysql or sqlite"):
        f.database_url({"engine": "oracle", "host": "h", "name": "n", "user": "u", "password": "p"})


LOCK_OK = "Django==5.2.19\npsycopg2-binary==2.9.13\npsycogreen==1.0.2\ngevent==26.9.0\n"


def test_a_lock_with_psycogreen_is_fine():
    assert f.requirements_driver_problems(LOCK_OK) == []


@pytest.mark.parametrize("driver", ["psycopg2==2.9.13", "psycopg2-binary==2.9.13", "psycopg2_binary==2.9.13"])
def test_psycopg2_without_psycogreen_is_refused_with_the_fix(driver):
    [problem] = f.requirements_driver_problems(f"Django==5.2.19\n{driver}\n")
    assert "add psycogreen" in problem and "psycopg 3" in problem


def test_mysqlclient_is_refused_with_pymysql_as_the_fix():
    [problem] = f.requirements_driver_problems("Django==5.2.19\nmysqlclient==2.2.7\n")
    assert "use PyMySQL" in problem


def test_psycopg3_and_pymysql_need_nothing():
    assert f.requirements_driver_problems("psycopg==3.2.9\npsycopg-binary==3.2.9\nPyMySQL==1.1.2\n") == []


def test_other_worker_classes_may_block():
    assert f.requirements_driver_problems("mysqlclient==2.2.7\n", worker_class="sync") == []


def client(env, address, connections, host="db1", engine="postgres"):
    return {
        "database": {"engine": engine, "host": host, "name": f"app_{env}", "user": f"app_{env}", "password": f"pw-{env}"},
        "address": address,
        "connections": connections,
    }


def test_database_access_grants_each_web_host_its_database():
    clients = [client("prod", "10.0.0.2", 500), client("prod", "10.0.0.3", 500), client("staging", "10.0.0.4", "200"),
               client("other", "10.0.0.5", 999, host="db2"), client("my", "10.0.0.6", 999, engine="mysql")]
    access = f.database_access(clients, "db1", "postgres")
    assert access["databases"] == [
        {"name": "app_prod", "user": "app_prod", "password": "pw-prod"},
        {"name": "app_staging", "user": "app_staging", "password": "pw-staging"},
    ]
    assert [e["address"] for e in access["clients"]] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert access["clients"][2] == {"database": "app_staging", "user": "app_staging", "address": "10.0.0.4"}
    assert access["max_connections"] == 500 + 500 + 200 + 10
    mysql = f.database_access(clients, "db1", "mariadb")
    assert mysql["databases"] == [{"name": "app_my", "user": "app_my", "password": "pw-my"}]
    assert mysql["max_connections"] == 999 + 10


def test_database_access_never_goes_below_the_default():
    assert f.database_access([client("prod", "10.0.0.2", 4)], "db1")["max_connections"] == 100
    assert f.database_access([], "db1") == {"databases": [], "clients": [], "max_connections": 100}
