"""Two apps on one machine (issue 12): each its own user, directory, units, socket, port, venvs,
.env, pgbouncer database and nginx site; deploying or rolling back one does not touch the other;
removing one keeps the other serving. The tests run in file order and share the hosts."""

import json
import os
import subprocess

import pytest
import testinfra

from conftest import PROJECT, app_copy, load, measure, run_site

APPS = {"shop": "shop.apps-web", "blog": "blog.apps-web"}
FAST_HEALTH = {"django_app_healthcheck_retries": 3, "django_app_healthcheck_delay": 1}


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
    """What another app's deploy must leave as it was."""
    return {
        "master": machine.check_output(f"systemctl show -p MainPID --value {app}.service"),
        "files": machine.check_output(f"sha256sum /srv/{app}/shared/.env /etc/systemd/system/{app}.service "
                                      f"/etc/gunicorn/{app}.conf.py /etc/nginx/sites-available/{app}.conf"),
        "release": machine.check_output(f"readlink /srv/{app}/current"),
    }


def playbook(name, app, **values):
    return run_site("-e", json.dumps({**FAST_HEALTH, **values}), limit=APPS[app], playbook=f"playbooks/{name}.yml")


def test_each_app_serves_its_own_names_as_its_own_user(machine):
    for app in APPS:
        body = health(machine, app)
        assert body["database"] == {"vendor": "postgresql", "reachable": True}
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


def test_one_pgbouncer_holds_both_apps_and_each_app_uses_only_its_database(machine):
    databases = machine.file("/etc/pgbouncer/databases.ini").content_string
    hba = machine.file("/etc/pgbouncer/pgbouncer_hba.conf").content_string
    for app in APPS:
        assert f"{app}_prod = host=apps-db port=5432 dbname={app}_prod user={app}_prod" in databases
        assert f"local {app}_prod {app} peer" in hba
    probe = ("import psycopg2, sys; psycopg2.connect(host='/run/pgbouncer', port=6432, dbname=sys.argv[1], "
             "user=sys.argv[2]).cursor().execute('SELECT 1'); print('connected')")
    python = "/srv/shop/current/.venv/bin/python"
    assert machine.check_output(f"runuser -u shop -- {python} -c %s shop_prod shop", probe) == "connected"
    other = machine.run(f"runuser -u shop -- {python} -c %s blog_prod shop", probe)
    assert other.rc != 0, "shop may not use blog's database"
    posing = machine.run(f"runuser -u shop -- {python} -c %s blog_prod blog", probe)
    assert posing.rc != 0, "nor pose as blog's user (pgbouncer checks the system user: peer)"


def test_apps_that_would_share_a_port_are_refused(machine):
    before = {app: state(machine, app) for app in APPS}
    result = run_site("-e", json.dumps({"gunicorn_bind_tcp": ["127.0.0.1:8000"]}))
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0 and "would share 127.0.0.1:8000 with" in out, out[-3000:]
    assert {app: state(machine, app) for app in APPS} == before


def test_one_app_deploys_under_load_while_the_other_deploys_and_rolls_back(machine, tmp_path):
    shop_before, blog_before = state(machine, "shop"), state(machine, "blog")
    shop_new = app_copy(tmp_path / "shop", "2.0.0")
    blog_new = app_copy(tmp_path / "blog", "3.0.0")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    with load([machine], host_header="shop.example.test") as results:
        shop_deploy = subprocess.Popen(
            ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(PROJECT / "playbooks" / "deploy.yml"),
             "--limit", APPS["shop"], "-e", json.dumps({**FAST_HEALTH, "django_app_src": str(shop_new)})],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        blog_deploy = playbook("deploy", "blog", django_app_src=str(blog_new))
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
    # blog's deploy and rollback wrote only blog's files; shop's code-only deploy changed none of its own.
    assert shop_after["files"] == shop_before["files"]


def test_status_shows_every_app(machine):
    result = run_site(playbook="playbooks/status.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    table = result.stdout.split("Show what is live where", 1)[1]
    for app, host in APPS.items():
        row = next(line for line in table.splitlines() if host in line)
        release = state(machine, app)["release"].rsplit("/", 1)[1]
        assert release in row and "active/running" in row and " ok " in row, row
    check = run_site("--check", playbook="playbooks/status.yml")
    assert check.returncode == 0 and "changed=0" in check.stdout.split("PLAY RECAP")[-1]


def test_removing_an_app_with_its_database_keeps_the_other_serving(machine, db):
    shop_before = state(machine, "shop")
    refused = playbook("remove", "blog")
    assert refused.returncode != 0 and "-e django_app_remove=blog" in " ".join(refused.stdout.split())
    result = run_site("-e", json.dumps({"django_app_remove": "blog", "django_app_remove_database": True}),
                      limit=f"{APPS['blog']},apps-db", playbook="playbooks/remove.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not machine.file("/srv/blog").exists and not machine.user("blog").exists
    assert not machine.file("/etc/systemd/system/blog.service").exists
    assert not machine.file("/etc/nginx/sites-enabled/blog.conf").exists
    assert "blog_prod" not in machine.file("/etc/pgbouncer/databases.ini").content_string
    assert "blog" not in db.check_output("runuser -u postgres -- psql -tAc 'SELECT datname FROM pg_database'")
    # shop: untouched, serving, still writing its database through pgbouncer.
    assert state(machine, "shop") == shop_before
    assert health(machine, "shop")["status"] == "ok"
    assert get(machine, "shop", "/hits/")["status"] == 200
    assert machine.service("pgbouncer").is_running
