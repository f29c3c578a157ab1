"""Two apps on one machine (issue 12): each its own user, directory, units, socket, port, venvs,
.env, pgbouncer database and nginx site; converging and deploying one (site.yml, which rewrites the
machine's shared pgbouncer and nginx files) and rolling it back does not touch the other; removing
one, with or without its database, keeps the other serving. A converge with nothing new skips every
role's work after one read of the host, and puts back what was changed by hand. The tests run in file order and share
the hosts."""

import json
import os
import subprocess

import pytest
import testinfra

from conftest import PROJECT, app_copy, inventory, load, measure, run_site

APPS = {"shop": "shop.apps-web", "blog": "blog.apps-web"}
FAST_HEALTH = {"django_app_healthcheck_retries": 3, "django_app_healthcheck_delay": 1}
# The db host's client entries (Debian 12, PostgreSQL 15).
HBA = "/etc/postgresql/15/main/pg_hba.conf"


@pytest.fixture(scope="module")
def machine():
    [host] = testinfra.get_hosts(["ansible://apps-web"], ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    return host


@pytest.fixture(scope="module")
def db():
    [host] = testinfra.get_hosts(["ansible://apps-db"], ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    return host


def get(machine, app, path="/healthz"):
    script = ("import http.client, json, sys; c = http.client.HTTPConnection('127.0.0.1', 80, timeout=30); "
              "c.request('GET', sys.argv[1], headers={'Host': sys.argv[2]}); r = c.getresponse(); "
              "print(json.dumps({'status': r.status, 'body': r.read().decode()}))")
    return json.loads(machine.check_output("python3 -c %s %s %s", script, path, f"{app}.example.test"))


def health(machine, app):
    page = get(machine, app)
    assert page["status"] == 200, page
    return json.loads(page["body"])


def state(machine, app):
    """What another app's runs must leave as it was."""
    return {
        "master": machine.check_output(f"systemctl show -p MainPID --value {app}.service"),
        "files": machine.check_output(f"sha256sum /srv/{app}/shared/.env /etc/systemd/system/{app}.service "
                                      f"/etc/gunicorn/{app}.conf.py /etc/nginx/sites-available/{app}.conf "
                                      f"/etc/pgbouncer/apps.d/{app}.*"),
        "release": machine.check_output(f"readlink /srv/{app}/current"),
    }


def psql(db, sql, database="postgres"):
    return db.check_output("runuser -u postgres -- psql -d %s -tAc %s", database, sql)


def recap_all_unchanged(result):
    """Every host's line of the PLAY RECAP says changed=0."""
    lines = [line for line in result.stdout.split("PLAY RECAP")[-1].splitlines() if " : ok=" in line]
    return lines and all("changed=0" in line for line in lines)


def playbook(name, app, **values):
    return run_site("-e", json.dumps({**FAST_HEALTH, **values}), limit=APPS[app], playbook=f"playbooks/{name}.yml")


def test_each_app_serves_its_own_names_as_its_own_user(machine, db):
    for app in APPS:
        body = health(machine, app)
        assert body["database"] == {"vendor": "postgresql", "reachable": True}
        # Each app migrated its own database (apps with databases of their own each migrate).
        assert int(psql(db, "SELECT count(*) FROM django_migrations WHERE app = 'demo'", f"{app}_prod")) > 0
        assert machine.process.get(pid=body["pid"]).user == app
        assert machine.socket(f"unix:///run/gunicorn/{app}.sock").is_listening
    assert machine.socket("tcp://127.0.0.1:8000").is_listening and machine.socket("tcp://127.0.0.1:8001").is_listening
    assert machine.check_output("ss -ltnp | grep -c '127.0.0.1:800[01]'") == "2"


def test_each_app_has_its_own_files_units_and_venvs(machine):
    for app in APPS:
        assert machine.user(app).home == f"/srv/{app}"
        assert machine.file(f"/srv/{app}/shared/.env").group == app
        assert machine.service(f"{app}.service").is_running and machine.service(f"{app}.socket").is_enabled
        assert machine.file(f"/etc/nginx/sites-enabled/{app}.conf").is_symlink
        venv = machine.check_output(f"readlink -f /srv/{app}/current/.venv")
        assert venv.startswith(f"/srv/{app}/venvs/") and machine.file(venv).user == f"{app}-build"
        # Who installed Django there (the dist-info's INSTALLER): uv by default, pip for blog
        # (virtualenv_installer: pip in its host_vars).
        installer = machine.check_output(f"cat {venv}/lib/python3*/site-packages/django-*.dist-info/INSTALLER")
        assert installer == {"shop": "uv", "blog": "pip"}[app], (app, installer)


def test_one_pgbouncer_holds_both_apps_and_each_app_uses_only_its_database(machine):
    databases = machine.file("/etc/pgbouncer/databases.ini").content_string
    hba = machine.file("/etc/pgbouncer/pgbouncer_hba.conf").content_string
    for app in APPS:
        # Under a name of the app's own: two apps' databases of the same name never share an entry.
        assert f"{app}__{app}_prod = host=apps-db port=5432 dbname={app}_prod user={app}_prod" in databases
        assert f"local {app}__{app}_prod {app} peer" in hba
    probe = ("import psycopg2, sys; psycopg2.connect(host='/run/pgbouncer', port=6432, dbname=sys.argv[1], "
             "user=sys.argv[2]).cursor().execute('SELECT 1'); print('connected')")
    python = "/srv/shop/current/.venv/bin/python"
    assert machine.check_output(f"runuser -u shop -- {python} -c %s shop__shop_prod shop", probe) == "connected"
    other = machine.run(f"runuser -u shop -- {python} -c %s blog__blog_prod shop", probe)
    # No hba line lets shop's user at blog's database.
    assert other.rc != 0 and "no authentication method is found" in other.stderr, (
        "shop may not use blog's database", other.stderr)
    posing = machine.run(f"runuser -u shop -- {python} -c %s blog__blog_prod blog", probe)
    assert posing.rc != 0 and "login rejected" in posing.stderr, (
        "nor pose as blog's user (pgbouncer checks the system user: peer)", posing.stderr)


def ran(result, task):
    """Whether the run ran `task` (its header followed by a result other than skipping)."""
    for chunk in result.stdout.split("\nTASK [")[1:]:
        header, _, body = chunk.partition("\n")
        if header.split("]")[0].endswith(task) and any(
                line.startswith(("ok:", "changed:", "fatal:")) for line in body.splitlines()):
            return True
    return False


def entries(text):
    """The lines of a pg_hba.conf that say something, whitespace and order aside."""
    return sorted(" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.startswith("#"))


# What the roles' install and configure tasks do, one per role: none of them runs when a read of
# the host finds nothing to change.
ROLE_WORK = ["initech.django.nginx : Write the site /etc/nginx/sites-available/shop.conf",
             "initech.django.pgbouncer : Write pgbouncer's settings (the same for every app on the host)",
             "initech.django.postgresql : Create the databases",
             "initech.django.django_app : Create the app's directories",
             "initech.django.virtualenv : Create the directories the builder works in"]


def test_a_converge_with_nothing_new_reads_each_role_once_and_puts_back_what_was_changed_by_hand(machine, db):
    # The README's way (ansible-core's strategy): every role reads the host once, then skips its work.
    result = run_site(plain=True)
    assert result.returncode == 0 and recap_all_unchanged(result), result.stdout[-3000:]
    assert [task for task in ROLE_WORK if ran(result, task)] == []
    for role in ("nginx", "pgbouncer", "postgresql"):
        assert ran(result, f"initech.django.{role} : Work out what {'PostgreSQL' if role == 'postgresql' else role}'s "
                           "tasks would change"), role

    # By hand: a site edited, the web server's way into an app removed, pgbouncer stopped, a
    # client entry of pg_hba.conf deleted (that one only a recheck finds: the digest is the same).
    site = "/etc/nginx/sites-available/shop.conf"
    before = {"site": machine.check_output(f"sha256sum {site}"), "hba": entries(db.file(HBA).content_string)}
    assert any("blog_prod" in entry for entry in before["hba"])
    machine.check_output(f"echo '# edited by hand' >> {site}")
    machine.check_output("setfacl -x u:www-data /srv/blog")
    machine.check_output("systemctl stop pgbouncer")
    db.check_output(f"sed -i '/blog_prod/d' {HBA}")
    result = run_site("-e", json.dumps({"postgresql_recheck": True}))
    assert result.returncode == 0 and not recap_all_unchanged(result), result.stdout[-3000:]
    assert machine.check_output(f"sha256sum {site}") == before["site"]
    assert "user:www-data:--x" in machine.check_output("getfacl -p /srv/blog")
    assert machine.service("pgbouncer").is_running
    assert entries(db.file(HBA).content_string) == before["hba"]
    for app in APPS:
        assert health(machine, app)["status"] == "ok"


@pytest.mark.parametrize(("values", "limit", "shared"), [
    ({"gunicorn_bind_tcp": ["127.0.0.1:8000"]}, None, "127.0.0.1:8000 with"),
    # The other app is outside the run (--limit): what the inventory says of it still counts.
    ({"gunicorn_bind_tcp": ["127.0.0.1:8000"]}, APPS["blog"], "127.0.0.1:8000 with shop.apps-web"),
    ({"django_app_user": "apps"}, APPS["blog"], "the user apps with shop.apps-web"),
    ({"django_app_allowed_hosts": ["shop.example.test"]}, None, "the host name shop.example.test with"),
], ids=["port", "port, other app outside the run", "user, other app outside the run", "host name"])
def test_apps_that_would_share_something_are_refused(machine, values, limit, shared):
    before = {app: state(machine, app) for app in APPS}
    result = run_site("-e", json.dumps(values), limit=limit)
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0 and (f"would share {shared}" in out or f"; {shared}" in out), out[-3000:]
    assert {app: state(machine, app) for app in APPS} == before


def test_one_app_deploys_under_load_while_the_other_converges_deploys_and_rolls_back(machine, tmp_path):
    shop_before, blog_before = state(machine, "shop"), state(machine, "blog")
    shop_new = app_copy(tmp_path / "shop", "2.0.0")
    blog_new = app_copy(tmp_path / "blog", "3.0.0")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    with load([machine], host_header="shop.example.test") as results:
        shop_deploy = subprocess.Popen(
            ["ansible-playbook", "-i", inventory(), str(PROJECT / "playbooks" / "deploy.yml"),
             "--limit", APPS["shop"], "-e", json.dumps({**FAST_HEALTH, "django_app_src": str(shop_new)})],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        # site.yml: blog's run also rewrites the machine's shared pgbouncer and nginx files.
        blog_deploy = run_site("-e", json.dumps({**FAST_HEALTH, "django_app_src": str(blog_new)}), limit=APPS["blog"],
                               plain=True)
        assert blog_deploy.returncode == 0, blog_deploy.stdout[-3000:]
        assert health(machine, "blog")["version"] == "3.0.0"
        blog_rollback = playbook("rollback", "blog")
        assert blog_rollback.returncode == 0, blog_rollback.stdout[-3000:]
        out, _ = shop_deploy.communicate(timeout=1500)
        assert shop_deploy.returncode == 0, out[-3000:]
    totals = results[machine.backend.get_hostname()]
    measure("shop deployed under load while blog deployed and rolled back", sent=totals["sent"],
            failed=totals["failed"], versions=[v for v, _ in totals["versions"]])
    assert totals["failed"] == 0, totals["errors"]
    assert [v for v, _ in totals["versions"]][-1] == "2.0.0"
    assert health(machine, "blog")["version"] == "1.0.0"
    shop_after = state(machine, "shop")
    assert shop_after["master"] == shop_before["master"], "a code deploy reloads shop; blog's runs never restarted it"
    assert state(machine, "blog")["release"] == blog_before["release"]
    # blog's runs wrote only blog's files (and reloaded the shared pgbouncer and nginx, which shop's
    # load did not notice); shop's code-only deploy changed none of its own.
    assert shop_after["files"] == shop_before["files"]


def test_status_shows_every_app(machine):
    result = run_site(playbook="playbooks/status.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    table = result.stdout.split("Show what is live where", 1)[1]
    for app, host in APPS.items():
        row = next(line for line in table.splitlines() if line.strip().strip('"').startswith(host + " "))
        release = state(machine, app)["release"].rsplit("/", 1)[1]
        assert release in row and "active/running" in row and " ok " in row, row
    check = run_site("--check", playbook="playbooks/status.yml")
    assert check.returncode == 0 and recap_all_unchanged(check), check.stdout[-3000:]


def test_removing_an_app_keeps_its_database_unless_asked_and_the_other_app_serving(machine, db):
    before = {app: state(machine, app) for app in APPS}
    refused = playbook("remove", "blog")
    assert refused.returncode != 0 and "-e django_app_remove=blog" in " ".join((refused.stdout + refused.stderr).split())
    assert {app: state(machine, app) for app in APPS} == before, "a refused removal changes nothing"
    # Dropping the database needs its server in the run.
    no_db = playbook("remove", "blog", django_app_remove="blog", django_app_remove_database=True)
    assert no_db.returncode != 0 and "apps-db is not in this run" in " ".join((no_db.stdout + no_db.stderr).split()), no_db.stdout[-3000:]
    assert {app: state(machine, app) for app in APPS} == before

    result = playbook("remove", "blog", django_app_remove="blog")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not machine.file("/srv/blog").exists and not machine.user("blog").exists
    assert not machine.user("blog-build").exists
    assert not machine.file("/etc/systemd/system/blog.service").exists
    assert not machine.file("/run/gunicorn/blog.sock").exists
    assert not machine.file("/etc/nginx/sites-enabled/blog.conf").exists
    assert "blog" not in machine.file("/etc/pgbouncer/databases.ini").content_string
    assert "blog" not in machine.file("/etc/pgbouncer/pgbouncer_hba.conf").content_string
    # Kept by default, with its data.
    assert int(psql(db, "SELECT count(*) FROM django_migrations", "blog_prod")) > 0
    assert state(machine, "shop") == before["shop"]
    assert health(machine, "shop")["status"] == "ok"


def test_removing_again_drops_the_database_when_asked_and_the_other_app_serves_on(machine, db):
    shop_before = state(machine, "shop")
    result = run_site("-e", json.dumps({"django_app_remove": "blog", "django_app_remove_database": True}),
                      limit=f"{APPS['blog']},apps-db", playbook="playbooks/remove.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "blog_prod" not in psql(db, "SELECT datname FROM pg_database")
    assert "blog_prod" not in psql(db, "SELECT rolname FROM pg_roles")
    # shop: untouched, serving, still writing its database through pgbouncer.
    assert state(machine, "shop") == shop_before
    assert health(machine, "shop")["status"] == "ok"
    assert get(machine, "shop", "/hits/")["status"] == 200
    assert machine.service("pgbouncer").is_running
