"""Shipping releases with playbooks/deploy.yml and going back with playbooks/rollback.yml:
zero-downtime switches under load, health-gated, failed releases rolled back, the rollout
stopped at the first failed batch, rollbacks, pruning, venvs keyed by the lock.

The steps share state and run in file order (after test_lifecycle.py), over both hosts."""

import json
import re
import time

import requirements as reqs
from conftest import APP, ROOT, app_copy, current_release, exec_start, load, main_pid, measure, pip_freeze, run_site, via_nginx

FAST_HEALTH = {"django_app_healthcheck_retries": 3, "django_app_healthcheck_delay": 1}
state = {}


def deploy(*args, **values):
    return run_site("-e", json.dumps({**FAST_HEALTH, **values}), *args, playbook="playbooks/deploy.yml")


def rollback(**values):
    return run_site("-e", json.dumps({**FAST_HEALTH, **values}), playbook="playbooks/rollback.yml")


def version(host):
    page = via_nginx(host, "/healthz")
    assert page["status"] == 200, page
    return json.loads(page["body"])["version"]


def served_versions(host, count=20):
    return {version(host) for _ in range(count)}


def history(host):
    return host.file(f"{ROOT}/releases.history").content_string.split()


def release_id(host):
    return current_release(host).rsplit("/", 1)[1]


def shared_state(host):
    """What a failed deploy must leave alone: shared/ (.env, uploads), current, the history."""
    return {
        "shared": host.check_output(f"cd {ROOT}/shared && find . -type f -print0 | sort -z | xargs -0 sha256sum"),
        "release": current_release(host),
        "history": history(host),
        "version": version(host),
    }


def assert_no_failed_request(results, old, new, case):
    for name, totals in results.items():
        measure(case, host=name, sent=totals["sent"], failed=totals["failed"], long=totals["long"],
                versions=[v for v, _ in totals["versions"]])
        assert totals["failed"] == 0, (name, totals["errors"])
        assert totals["sent"] > 100 and totals["long"] > 5, (name, totals)
        seen = [v for v, _ in totals["versions"]]
        assert set(seen) <= {old, new} and seen[-1] == new, (name, seen)


def test_a0_a_deploy_with_nothing_new_ends_after_one_read_of_each_host(hosts):
    first = deploy()
    assert first.returncode == 0, first.stdout[-3000:]
    pids = {h: main_pid(h) for h in hosts}
    again = deploy()
    assert again.returncode == 0, again.stdout[-3000:]
    recap = again.stdout.split("PLAY RECAP")[-1]
    assert recap.count("changed=0") == len(hosts), recap
    for h in hosts:
        name = h.backend.get_hostname()
        assert f"{name}: release {release_id(h)} is live, with this run's venv, .env and units" in again.stdout
        assert main_pid(h) == pids[h], "gunicorn was not restarted or reloaded"
    # No lock, stage, migrate, collectstatic, check or reload: the play ended after the probe.
    for task in ("Take the deploy lock", "collect the static files", "Django prepared", "Check how the app answers",
                 "Reload"):
        assert not ran(again.stdout, task), task


def ran(output, task):
    """Whether a task whose name holds `task` ran on a host (listed, but skipped everywhere, is not)."""
    for block in output.split("TASK [")[1:]:
        name, _, results = block.partition("]")
        if task in " ".join(name.split()) and re.search(r"^(ok|changed|fatal|failed):", results, re.M):
            return True
    return False


def test_a_code_change_goes_live_under_load_without_a_failed_request(hosts, tmp_path):
    before = {h: (main_pid(h), h.check_output(f"readlink -f {ROOT}/current/.venv"), release_id(h)) for h in hosts}
    old = {version(h) for h in hosts}
    assert old == {"1.0.0"}
    started = time.monotonic()
    with load(hosts) as results:
        result = deploy(django_app_src=str(app_copy(tmp_path, "2.0.0")))
    state["code_only_deploy_s"] = time.monotonic() - started - 4
    assert result.returncode == 0, result.stdout[-3000:]
    assert_no_failed_request(results, "1.0.0", "2.0.0", "code deploy under load (reload)")
    for h in hosts:
        master, venv, release = before[h]
        assert served_versions(h) == {"2.0.0"}
        assert main_pid(h) == master, "new code only: a reload, the master stays"
        assert h.check_output(f"readlink -f {ROOT}/current/.venv") == venv, "same lock: same venv"
        assert release_id(h) != release and history(h)[-2:] == [release, release_id(h)]
    state["v2"] = {h.backend.get_hostname(): release_id(h) for h in hosts}
    state["v2_src"] = str(tmp_path / "initech-demo-2.0.0")  # pytest keeps tmp_path after the test
    measure("code-only deploy.yml run, unchanged lock, 2 hosts", seconds=round(state["code_only_deploy_s"], 1))


def test_b_unit_changes_restart_under_load_without_a_failed_request(hosts):
    before = {h: main_pid(h) for h in hosts}
    with load(hosts) as results:
        one = deploy(django_app_src=state["v2_src"], gunicorn_workers=1)
        one_pids = {h: main_pid(h) for h in hosts}
        one_cmd = {h: exec_start(h) for h in hosts}
        back = deploy(django_app_src=state["v2_src"])
    assert one.returncode == 0, one.stdout[-3000:]
    assert back.returncode == 0, back.stdout[-3000:]
    assert_no_failed_request(results, "2.0.0", "2.0.0", "two unit-changing deploys under load (restarts)")
    for h in hosts:
        assert "--workers 1 " in one_cmd[h]
        assert one_pids[h] != before[h] and main_pid(h) != one_pids[h], "a new unit is a restart"
        assert f"--workers {h.check_output('nproc')} " in exec_start(h)
        assert served_versions(h) == {"2.0.0"}


def assert_failed_and_unchanged(hosts, result, before, *messages):
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    for message in messages:
        assert message in output, output[-4000:]
    for h in hosts:
        assert shared_state(h) == before[h]
        assert h.service(f"{APP}.service").is_running
        assert not h.file(f"{ROOT}/.deploy-snapshot").exists, "the copies of the old .env went with the restore"


def broken_migration(copy):
    (copy / "demo" / "migrations" / "0002_broken.py").write_text(
        "from django.db import migrations\n\n\n"
        "def fail(apps, schema_editor):\n    raise RuntimeError('this migration fails on purpose')\n\n\n"
        "class Migration(migrations.Migration):\n    dependencies = [('demo', '0001_initial')]\n"
        "    operations = [migrations.RunPython(fail)]\n"
    )


def test_c_a_failing_migration_leaves_the_live_release_serving(hosts, tmp_path):
    before = {h: shared_state(h) for h in hosts}
    pids = {h: main_pid(h) for h in hosts}
    result = deploy(django_app_src=str(app_copy(tmp_path, "3.0.0", broken_migration)))
    # The error lines of manage.py's output, not its last line: the exception and where it rose.
    assert_failed_and_unchanged(hosts, result, before, "failed at 'Check that Django prepared the release': "
                                "manage.py migrate failed (exit status 1)",
                                "RuntimeError: this migration fails on purpose", "0002_broken.py")
    output = result.stdout + result.stderr
    for h in hosts:
        assert main_pid(h) == pids[h], "nothing went live: the service was not even restarted"
        name = h.backend.get_hostname()
        assert f"{name}: release " in output and f"{name} is back on release {state['v2'][name]}" in output


def test_d_a_release_whose_wsgi_app_cannot_import_is_rolled_back(hosts, tmp_path):
    # manage.py (migrate, check --deploy) never imports wsgi.py: only serving shows the error.
    def break_wsgi(copy):
        wsgi = copy / "initech_demo" / "wsgi.py"
        wsgi.write_text(wsgi.read_text() + "\nimport module_that_does_not_exist  # noqa\n")

    before = {h: shared_state(h) for h in hosts}
    with load(hosts) as results:
        result = deploy(django_app_src=str(app_copy(tmp_path, "3.1.0", break_wsgi)), gunicorn_switch_timeout=15)
    assert_failed_and_unchanged(hosts, result, before)
    output = result.stdout + result.stderr
    for h in hosts:
        name = h.backend.get_hostname()
        # Seen when serving it: by the reload itself (the master already gone), the wait for the
        # new workers, or, if they crashed later, the health check; never before the switch.
        match = re.search(rf"{name}: release \S+ failed at '([^']*)'", output)
        assert match, output[-3000:]
        assert re.match(r"(Reload|Restart) the service|Enable and start|Wait until every worker|Check how the app answers",
                        match.group(1)), match.group(1)
        assert f"{name} is back on release {state['v2'][name]}" in result.stdout + result.stderr
        log = h.run(f"journalctl -u {APP}.service --no-pager -o cat | grep -c \"No module named 'module_that_does_not_exist'\"")
        assert int(log.stdout.strip() or 0) > 0, "gunicorn's log says why the workers did not boot"
    # Requests that came while no worker could serve waited in the socket's backlog.
    for name, totals in results.items():
        measure("broken wsgi release under load (rolled back)", host=name, sent=totals["sent"], failed=totals["failed"],
                errors=totals["errors"][:3])
        assert totals["sent"] > 20 and [v for v, _ in totals["versions"]] == ["2.0.0"], totals


def test_e_a_failed_health_check_switches_back_and_stops_the_rollout(hosts, tmp_path):
    def break_prod(copy):
        prod = copy / "initech_demo" / "settings" / "prod.py"
        prod.write_text(prod.read_text() + '\nALLOWED_HOSTS = ["nowhere.invalid"]\n')

    before = {h: shared_state(h) for h in hosts}
    broken = app_copy(tmp_path, "3.2.0", break_prod)
    result = deploy("-e", "deploy_serial=1", django_app_src=str(broken))
    assert_failed_and_unchanged(hosts, result, before, "web-prod-bookworm: release",
                                "failed at 'Check how the app answers /healthz'",
                                "web-prod-bookworm is back on release")
    recap = result.stdout.split("PLAY RECAP")[-1]
    assert "web-staging-trixie" not in recap or "web-staging-trixie         : ok=0" in recap, recap
    prod, staging = hosts_by_name(hosts, "web-prod-bookworm"), hosts_by_name(hosts, "web-staging-trixie")
    # Prod switched, failed and came back (its failed release stays until pruned); staging,
    # in the next batch, never saw the release.
    assert len(prod.check_output(f"ls {ROOT}/releases").split()) > len(staging.check_output(f"ls {ROOT}/releases").split())


def test_e2_a_failed_health_check_says_what_the_app_raised(hosts, tmp_path):
    def break_healthz(copy):
        views = copy / "demo" / "views.py"
        views.write_text(views.read_text().replace(
            '    """What an operator asks a fresh deploy: which code, which settings, gevent, the DB."""',
            '    """What an operator asks a fresh deploy: which code, which settings, gevent, the DB."""\n'
            '    raise ZeroDivisionError("the health page divides by zero on purpose")'))

    before = {h: shared_state(h) for h in hosts}
    result = deploy(django_app_src=str(app_copy(tmp_path, "3.3.0", break_healthz)))
    # Django (DEBUG off, the demo's LOGGING aside) answers a bare 500; the message says why.
    assert_failed_and_unchanged(hosts, result, before, "answered 500",
                                "Django raises builtins.ZeroDivisionError: the health page divides by zero on purpose",
                                "demo/views.py")


def hosts_by_name(hosts, name):
    [host] = [h for h in hosts if h.backend.get_hostname() == name]
    return host


def test_f_rollback_returns_to_the_previous_release(hosts):
    before = {h: history(h) for h in hosts}
    result = rollback()
    assert result.returncode == 0, result.stdout[-3000:]
    for h in hosts:
        assert release_id(h) == before[h][-2]
        assert history(h) == before[h][:-1], "the release rolled back from leaves the history"
        assert served_versions(h) == {"1.0.0"}


def test_g_rollback_to_a_named_release(hosts):
    missing = rollback(django_app_rollback_to="0123456789ab")
    assert missing.returncode != 0
    assert "release 0123456789ab is not on the host" in missing.stdout + missing.stderr, missing.stdout[-3000:]
    [v2] = set(state["v2"].values())  # the release id is the code's digest: the same on every host
    result = rollback(django_app_rollback_to=v2)
    assert result.returncode == 0, result.stdout[-3000:]
    for h in hosts:
        assert release_id(h) == v2 and history(h)[-1] == v2
        assert served_versions(h) == {"2.0.0"}


def test_h_a_new_lock_gets_a_new_venv_and_old_releases_are_pruned(hosts, tmp_path):
    def add_package(copy):
        for name in ("requirements.txt", "requirements_to_freeze.txt"):
            path = copy / name
            path.write_text(path.read_text() + "six==1.17.0\n")

    before = {h: (h.check_output(f"readlink -f {ROOT}/current/.venv"), pip_freeze(h), main_pid(h)) for h in hosts}
    live = {h: release_id(h) for h in hosts}
    for h in hosts:
        # As on a host deployed before there was a history: the live release must still count.
        h.run_expect([0], f"rm {ROOT}/releases.history")
    result = deploy(django_app_src=str(app_copy(tmp_path, "4.0.0", add_package)), django_app_keep_releases=2)
    assert result.returncode == 0, result.stdout[-3000:]
    for h in hosts:
        old_venv, old_freeze, old_pid = before[h]
        new_venv = h.check_output(f"readlink -f {ROOT}/current/.venv")
        assert new_venv != old_venv, "a new lock builds a new venv beside the old one"
        assert "six" in reqs.requirements_pinned(pip_freeze(h))
        assert h.check_output(f"{old_venv}/bin/python -m pip freeze --disable-pip-version-check") == old_freeze
        assert main_pid(h) != old_pid, "another venv needs a new master"
        assert served_versions(h) == {"4.0.0"}
        assert history(h) == [live[h], release_id(h)]
        # Two releases kept: the live one and the one before it; failed ones are gone too.
        assert sorted(h.check_output(f"ls {ROOT}/releases").split()) == sorted(history(h)[-2:])
        assert sorted(h.check_output(f"ls {ROOT}/venvs").split()) == sorted({old_venv.rsplit('/', 1)[1], new_venv.rsplit('/', 1)[1]})
