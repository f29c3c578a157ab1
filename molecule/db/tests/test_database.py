"""The database tier as an operator checks it: PostgreSQL serving each environment its own
database to its web host only, and the guidelines' gevent claim on one worker."""

import json
import re
import time

import pytest

from conftest import app_copy, assert_no_secret_anywhere, healthz, http, measure, run_site, vault, VENV

WEB_HOSTS = ["pgweb-prod-bookworm", "pgweb-staging-trixie"]
ENVIRONMENTS = {"pgweb-prod-bookworm": "prod", "pgweb-staging-trixie": "staging"}


# The start of PostgreSQL's protocol, from the standard library: log in to pgbouncer's socket as a
# given database user, and say whether it let us in ("ok", after its AuthenticationOk) or not.
_PG_LOGIN = r"""
import socket, struct, sys
database, user = sys.argv[1], sys.argv[2]
body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
s = socket.socket(socket.AF_UNIX)
s.connect("/run/pgbouncer/.s.PGSQL.6432")
s.sendall(struct.pack("!i", len(body) + 4) + body)
kind, length = s.recv(1), struct.unpack("!i", s.recv(4))[0]
payload = s.recv(length - 4)
print("ok" if kind == b"R" and payload[:4] == b"\0\0\0\0" else "refused")
"""


def pg_login(host, system_user, database, database_user):
    return host.check_output("runuser -u %s -- python3 -c %s %s %s", system_user, _PG_LOGIN, database, database_user)


def is_db(host):
    return host.backend.get_hostname().startswith("db-")


def psql(db_host, sql, database="postgres"):
    return db_host.check_output("runuser -u postgres -- psql -d %s -tAc %s", database, sql)


@pytest.fixture(scope="module")
def db(hosts):
    [db_host] = [h for h in hosts if is_db(h)]
    return db_host


@pytest.fixture(scope="module")
def web(hosts):
    return {h.backend.get_hostname(): h for h in hosts if not is_db(h)}


def test_each_web_host_reaches_postgresql(web):
    for name, host in web.items():
        health = healthz(host)
        assert health["database"] == {"vendor": "postgresql", "reachable": True}, name
        assert health["environment"] == f"initech_demo.settings.{ENVIRONMENTS[name]}"


def test_the_app_connects_through_its_own_pgbouncer(web):
    for name, host in web.items():
        env = ENVIRONMENTS[name]
        script = "import environ, json; e = environ.Env(); e.read_env('/srv/initech-demo/shared/.env'); print(json.dumps(e.db()))"
        config = json.loads(host.check_output(f"{VENV}/bin/python -c %s", script))
        assert config["OPTIONS"] == {"host": "/run/pgbouncer"}
        # Transaction pooling: the option travels in DATABASE_URL, so env.db() alone is right.
        assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
        # The app logs in to pgbouncer as its system user (checked on the socket: peer, no password),
        # to its database's name in pgbouncer (<app>__<database>); pgbouncer logs in to PostgreSQL as
        # the database's user.
        assert (config["NAME"], config["USER"], config["PORT"], config["PASSWORD"]) == (
            f"initech-demo__initech_demo_{env}", "initech-demo", 6432, "")
        databases = host.file("/etc/pgbouncer/databases.ini").content_string
        assert (f"initech-demo__initech_demo_{env} = host=db-trixie port=5432 dbname=initech_demo_{env} "
                f"user=initech_demo_{env} pool_size=100 pool_mode=transaction") in databases
        assert "%include /etc/pgbouncer/databases.ini" in host.file("/etc/pgbouncer/pgbouncer.ini").content_string
        assert host.service("pgbouncer").is_running


def test_pgbouncer_logs_in_with_the_vault_password_and_only_the_app_may_connect(web):
    for name, host in web.items():
        password = vault(ENVIRONMENTS[name])["vault_database_password"]
        assert any(c in password for c in "@:/#%"), "the test vault's password must be a hard one"
        userlist = host.file("/etc/pgbouncer/userlist.txt")
        assert (userlist.mode, userlist.user, userlist.group) == (0o640, "root", "postgres")
        assert f'"{password}"' in userlist.content_string
        assert "local initech-demo__initech_demo_" + ENVIRONMENTS[name] + " initech-demo peer" in host.file(
            "/etc/pgbouncer/pgbouncer_hba.conf").content_string
        # Only the app's system user gets in, and only to its database; nobody else, even claiming its name.
        db_name = f"initech-demo__initech_demo_{ENVIRONMENTS[name]}"
        assert pg_login(host, "initech-demo", db_name, "initech-demo") == "ok"
        assert pg_login(host, "nobody", db_name, "initech-demo") == "refused"
        assert pg_login(host, "nobody", db_name, "nobody") == "refused"


def test_each_environment_reads_and_writes_its_own_database(web):
    before = {n: json.loads(http(h, "/hits/")[1])["hits"] for n, h in web.items()}
    assert http(web["pgweb-prod-bookworm"], "/hits/", method="POST")[0] == 201
    assert http(web["pgweb-prod-bookworm"], "/hits/", method="POST")[0] == 201
    assert http(web["pgweb-staging-trixie"], "/hits/", method="POST")[0] == 201
    after = {n: json.loads(http(h, "/hits/")[1])["hits"] for n, h in web.items()}
    assert after == {"pgweb-prod-bookworm": before["pgweb-prod-bookworm"] + 2, "pgweb-staging-trixie": before["pgweb-staging-trixie"] + 1}


def test_migrations_ran_once_per_environment(db):
    for env in ("prod", "staging"):
        rows = psql(db, "SELECT count(*) FROM django_migrations WHERE app = 'demo'", database=f"initech_demo_{env}")
        assert rows == "1"


def test_only_the_web_hosts_may_connect(db, web):
    hba = db.check_output("runuser -u postgres -- psql -tAc %s", "SELECT database, user_name, address, auth_method FROM pg_hba_file_rules WHERE type = 'host' AND address IS NOT NULL AND address NOT IN ('127.0.0.1', '::1')")
    lines = sorted(hba.splitlines())
    expected = []
    for name, host in web.items():
        env = ENVIRONMENTS[name]
        address = host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"]["ansible_default_ipv4"]["address"]
        expected.append(f"{{initech_demo_{env}}}|{{initech_demo_{env}}}|{address}|scram-sha-256")
    assert lines == sorted(expected)
    assert "0.0.0.0" not in hba


def test_max_connections_is_sized_from_the_web_tiers_pools(db):
    # each web host's pgbouncer may open pgbouncer_pool_size (100) server connections; 10 in reserve
    assert int(psql(db, "SHOW max_connections")) == 2 * 100 + 10


def test_a_run_limited_to_one_web_host_keeps_the_limit_the_others_need(db):
    """--limit db,one web host: the db play hears from that host only. PostgreSQL keeps the
    connection slots of the whole web tier and is not restarted: the other host keeps its pool."""
    started = psql(db, "SELECT pg_postmaster_start_time()")
    result = run_site(playbook="playbooks/db.yml", limit="db-trixie,pgweb-prod-bookworm")
    assert result.returncode == 0, result.stdout[-3000:]
    assert int(psql(db, "SHOW max_connections")) == 2 * 100 + 10
    assert psql(db, "SELECT pg_postmaster_start_time()") == started


def test_a_limited_run_that_cannot_read_the_limit_in_force_stops_before_changing_it(db):
    """The same limited run with PostgreSQL down: the limit in force cannot be read, so the run
    stops on the db host, saying why (psql's error), before it configures anything."""
    db.check_output("systemctl stop postgresql")
    try:
        result = run_site(playbook="playbooks/db.yml", limit="db-trixie,pgweb-prod-bookworm")
        out = " ".join((result.stdout + result.stderr).split())
        assert result.returncode != 0
        assert "outside this run (--limit), so the connection limit may only go up" in out, out[-3000:]
        assert "could not be read (postgres: psql:" in out, out[-3000:]
        assert "Set up PostgreSQL for the web hosts" not in out.rsplit("could not be read", 1)[1]
    finally:
        db.check_output("systemctl start postgresql")
    assert int(psql(db, "SHOW max_connections")) == 2 * 100 + 10


def test_a_deploy_leaves_the_pool_open_for_the_first_burst(db, tmp_path):
    """Once a release is live, pgbouncer holds the server connections the workers can use at once
    (up to the pool: 100), so the first burst does not wait for PostgreSQL to start backends."""
    result = run_site("-e", json.dumps({"django_app_src": str(app_copy(tmp_path, "1.0.1"))}),
                      playbook="playbooks/deploy.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "connections through pgbouncer failed" not in result.stdout
    for env in ENVIRONMENTS.values():
        opened = int(psql(db, f"SELECT count(*) FROM pg_stat_activity WHERE usename = 'initech_demo_{env}'"))
        assert opened >= 100, (env, opened)
    measure("server connections open after a deploy (db scenario)", per_pool=100)


def test_ten_slow_requests_finish_together_on_one_gevent_worker(web):
    """The guidelines' headline: 10 requests, each waiting 5 s in PostgreSQL, about 5 s in all,
    in ONE worker process. Serially they would take 50 s: the margin is wide on purpose."""
    host = web["pgweb-prod-bookworm"]
    assert "--workers 1 " in host.check_output("systemctl show -p ExecStart --value initech-demo.service")
    started = time.monotonic()
    status, body = http(host, "/ten-slow-requests/", host_header="127.0.0.1")
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert body.split() == [str(x * x) for x in range(1, 11)]
    assert elapsed < 15, f"took {elapsed:.1f} s"


def test_a_blocking_database_driver_is_refused_before_deploying(hosts, tmp_path):
    import shutil

    from conftest import PROJECT

    app = tmp_path / "initech-demo"
    shutil.copytree(PROJECT / "examples" / "initech-demo", app, ignore=shutil.ignore_patterns("__pycache__", ".env", "db.sqlite3"))
    lock = app / "requirements.txt"
    lock.write_text("".join(line for line in lock.read_text().splitlines(True) if not line.startswith("psycogreen==")))
    before = {h.backend.get_hostname(): healthz(h)["ppid"] for h in hosts if not is_db(h)}
    result = run_site("-e", json.dumps({"django_app_src": str(app)}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "psycopg2 waits for PostgreSQL in C code" in output and "add psycogreen" in output
    for h in hosts:
        if not is_db(h):
            assert healthz(h)["ppid"] == before[h.backend.get_hostname()]


def test_pgbouncer_is_hardened_and_the_app_starts_after_it(web):
    for name, host in web.items():
        out = host.check_output("systemd-analyze security pgbouncer.service 2>&1 | tail -1")
        score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))
        measure("systemd-analyze security", host=name, unit="pgbouncer.service", exposure=score)
        assert score <= 4.0, out
        assert host.service("pgbouncer").is_running
        after = host.check_output("systemctl show -p After --value initech-demo.service").split()
        assert "pgbouncer.service" in after
        assert "pgbouncer.service" in host.check_output("systemctl show -p Wants --value initech-demo.service").split()


def test_no_secret_in_verbose_output_or_readable_files(hosts, tmp_path):
    values = {f"{env}/{key}": value for env in ("prod", "staging") for key, value in vault(env).items()}
    assert_no_secret_anywhere(hosts, values, tmp_path, "db")
