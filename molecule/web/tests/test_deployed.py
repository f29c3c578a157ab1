"""What an operator checks by hand on a freshly deployed web host."""

import json

import requirements as reqs
from conftest import APP, ROOT, SETTINGS, VENV, environment_of, exec_start, healthz, http, pip_freeze, vault, via_nginx


def test_venv_holds_exactly_the_lock(host):
    lock = host.file(f"{ROOT}/current/requirements.txt").content_string
    assert reqs.requirements_lock_problems(lock) == []
    assert reqs.requirements_pinned(pip_freeze(host)) == reqs.requirements_pinned(lock)


def test_venv_was_made_with_the_chosen_interpreter(host):
    system = host.check_output("python3 -c 'import platform; print(platform.python_version())'")
    venv = host.check_output(f"{VENV}/bin/python -c 'import platform; print(platform.python_version())'")
    assert venv == system
    assert f"version = {system}" in host.file(f"{VENV}/pyvenv.cfg").content_string
    assert host.run(f"{VENV}/bin/python -m pip check").rc == 0


def test_pip_in_the_venv_trusts_the_given_ca_bundle(host):
    venv = host.check_output(f"readlink -f {VENV}")
    conf = host.file(f"{venv}/pip.conf")
    assert f"cert = {venv}/pip-ca-bundle.pem" in conf.content_string
    assert host.file(f"{venv}/pip-ca-bundle.pem").is_file


def test_uv_installed_every_package_of_the_lock_and_only_the_builder_reads_its_config(host):
    venv = host.check_output(f"readlink -f {VENV}")
    # Who installed each package (its dist-info's INSTALLER): uv, for every one the lock pins (pip
    # and setuptools came with the venv).
    found = host.check_output(f"grep -H . {venv}/lib/python3*/site-packages/*.dist-info/INSTALLER")
    installed_by = {}
    for line in found.splitlines():  # <venv>/lib/python3.N/site-packages/<name>-<version>.dist-info/INSTALLER:<who>
        path, who = line.rsplit(":", 1)
        installed_by[reqs.canonical_name(path.split("/")[-2].removesuffix(".dist-info").rsplit("-", 1)[0])] = who
    lock = host.file(f"{ROOT}/current/requirements.txt").content_string
    pinned = set(reqs.requirements_pinned(lock))
    assert pinned and {installed_by.get(name) for name in pinned} == {"uv"}, installed_by
    builder = f"{APP}-build"
    conf = host.file(f"{venv}/uv.toml")
    assert (conf.user, conf.mode) == (builder, 0o600)
    home = f"{ROOT}/venvs/.builder"
    uv = host.run(f"{home}/uv-*/bin/uv --version")
    assert uv.rc == 0 and uv.stdout.startswith("uv "), uv.stderr
    assert host.file(f"{home}/.cache/uv").user == builder


def test_dotenv_is_readable_by_the_app_only_and_not_writable_by_it(host):
    dotenv = host.file(f"{ROOT}/shared/.env")
    assert (dotenv.user, dotenv.group, dotenv.mode) == ("root", APP, 0o640)
    assert host.file(f"{ROOT}/current/.env").linked_to == f"{ROOT}/shared/.env"


def test_dotenv_reads_back_the_vault_values_through_django_environ(host):
    env = environment_of(host)
    hostname = host.check_output("hostname")
    expected = {
        "ENVIRONMENT": SETTINGS[env],
        "SECRET_KEY": vault(env)["vault_django_secret_key"],
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{ROOT}/shared/sqlite/db.sqlite3",
        "ALLOWED_HOSTS": f"localhost,127.0.0.1,{hostname}",
    }
    script = (
        "import environ, json, os, sys; environ.Env.read_env(sys.argv[1]);"
        "print(json.dumps({k: os.environ.get(k) for k in sys.argv[2:]}))"
    )
    out = host.check_output(f"{VENV}/bin/python -c %s %s {' '.join(expected)}", script, f"{ROOT}/shared/.env")
    assert json.loads(out) == expected


def test_each_host_serves_its_own_environment_with_gevent(host):
    health = healthz(host)
    env = environment_of(host)
    assert health["environment"] == SETTINGS[env]
    assert health["settings_module"] == SETTINGS[env]
    assert health["gevent"] == {"socket_patched": True}
    assert health["database"] == {"vendor": "sqlite", "reachable": True}


def test_pages_read_and_write_the_database(host):
    before = json.loads(http(host, "/hits/")[1])["hits"]
    status, body = http(host, "/hits/", method="POST")
    assert status == 201
    assert json.loads(body)["hits"] == before + 1


def test_unknown_host_headers_are_refused(host):
    assert http(host, "/healthz", host_header="evil.example.com")[0] == 400


def test_service_is_enabled_running_and_notifies_systemd(host):
    service = host.service(f"{APP}.service")
    assert service.is_enabled
    assert service.is_running
    assert host.check_output(f"systemctl show -p Type --value {APP}.service") == "notify"
    assert host.socket(f"unix:///run/gunicorn/{APP}.sock").is_listening


def test_unit_runs_gevent_with_one_worker_per_cpu(host):
    cmd = exec_start(host)
    nproc = host.check_output("nproc")
    assert "--worker-class gevent " in cmd
    assert f"--workers {nproc} " in cmd
    assert f"--chdir {ROOT}/current " in cmd
    assert "--preload" not in cmd
    # master + one worker per CPU
    assert len(host.process.filter(user=APP, comm="gunicorn")) == int(nproc) + 1


def test_unit_is_hardened(host):
    props = host.check_output(
        f"systemctl show -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp -p User {APP}.service"
    ).splitlines()
    assert sorted(props) == sorted(
        ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", f"User={APP}"]
    )


def test_workers_make_psycopg2_cooperative(host):
    conf = host.file(f"/etc/gunicorn/{APP}.conf.py").content_string
    assert "def post_fork(server, worker):" in conf
    assert "patch_psycopg()" in conf
    assert "preload_app" not in conf.replace("Never preload_app", "")
    log = host.check_output(f"journalctl -u {APP}.service --no-pager -o cat")
    assert "psycopg2 made cooperative with psycogreen" in log


def test_code_belongs_to_root_and_is_readable_by_the_app(host):
    current = host.file(f"{ROOT}/current")
    assert current.is_symlink
    release = host.file(current.linked_to)
    assert release.user == "root"
    assert release.group == APP
    assert release.mode == 0o750
    assert host.file(f"{release.path}/manage.py").user == "root"
    assert not host.file(f"{release.path}/db.sqlite3").exists  # excluded from the upload
    assert not host.file(f"{release.path}/__pycache__").exists


def test_systemd_holds_the_socket_nginx_may_use(host):
    socket = host.file(f"/run/gunicorn/{APP}.sock")
    assert socket.is_socket
    assert (socket.user, socket.group, socket.mode) == ("root", "www-data", 0o660)
    props = host.check_output(f"systemctl show -p Listen -p ActiveState {APP}.socket")
    assert "ActiveState=active" in props
    assert "127.0.0.1:8000 (Stream)" in props
    assert host.service(f"{APP}.socket").is_enabled


def test_nginx_serves_the_app_static_and_media_files(host):
    page = via_nginx(host, "/healthz")
    assert page["status"] == 200 and json.loads(page["body"])["status"] == "ok"
    css = via_nginx(host, "/static/admin/css/base.css")
    assert (css["status"], css["type"]) == (200, "text/css"), css["status"]
    host.run_expect([0], f"echo upload > {ROOT}/shared/media/probe.txt && chown {APP}: {ROOT}/shared/media/probe.txt")
    assert via_nginx(host, "/media/probe.txt")["body"] == "upload\n"
    # Anything else of the app stays closed to nginx's user.
    for path in (f"{ROOT}/shared/.env", f"{ROOT}/current/manage.py", f"{ROOT}/releases.history"):
        assert host.run(f"runuser -u www-data -- cat {path}").rc != 0, path
    assert host.run(f"runuser -u www-data -- ls {ROOT}/current/").rc != 0


def test_each_release_runs_with_a_venv_keyed_by_its_lock(host):
    venv = host.check_output(f"readlink -f {ROOT}/current/.venv")
    assert venv.startswith(f"{ROOT}/venvs/") and len(venv.rsplit("/", 1)[1]) == 12
    assert venv in exec_start(host), "the unit names the venv explicitly"
    history = host.file(f"{ROOT}/releases.history").content_string.split()
    assert history[-1] == host.check_output(f"readlink {ROOT}/current").rsplit("/", 1)[1]
    assert not host.file(f"{ROOT}/.deploy-snapshot").exists, "a successful deploy drops its snapshot"
