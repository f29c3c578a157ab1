"""Changes a user makes after the first deploy: settings through `ansible-playbook site.yml`,
new code through playbooks/deploy.yml. The right kind of restart for each change, bad input
refused before anything live changes, the dev requirements file, an interpreter change, and code
from git.

The steps share state and run in file order, over both hosts at once (a refusal of what a
deploy would ship: over one)."""

import json
import re
import subprocess

import pytest

import requirements as reqs
from conftest import (
    APP,
    ROOT,
    VENV,
    current_release,
    exec_start,
    healthz,
    http,
    main_pid,
    pip_freeze,
    run_site,
    vault,
)
from conftest import app_copy as copy_of_the_app

NEW_HOST = "reload.example.test"


# Refusals of what a deploy would ship: one host is enough to show the message.
REFUSAL = {"playbook": "playbooks/deploy.yml", "limit": "web-prod-bookworm"}


def extra_vars(**values):
    return ["-e", json.dumps(values)]


def snapshot(host):
    """What must not change when a deploy is refused."""
    return {
        "pid": main_pid(host),
        "release": current_release(host),
        "freeze": pip_freeze(host),
        "dotenv": host.check_output(f"sha256sum {ROOT}/shared/.env"),
        "health": {k: v for k, v in healthz(host).items() if k not in ("pid", "ppid")},
    }


def test_a_dotenv_change_reloads_gracefully(hosts):
    before = {h: (main_pid(h), healthz(h)["pid"]) for h in hosts}
    for h in hosts:
        assert http(h, "/healthz", host_header=NEW_HOST)[0] == 400
    # --diff and -v are where other tools leak secrets: .env must not show up in either.
    result = run_site("--diff", "-v", *extra_vars(django_app_allowed_hosts=["localhost", "127.0.0.1", NEW_HOST]))
    assert result.returncode == 0, result.stdout[-3000:]
    for env in ("prod", "staging"):
        assert vault(env)["vault_django_secret_key"] not in result.stdout + result.stderr
    assert re.search(r"TASK \[initech.django.gunicorn : Reload the service[^\n]*\n(changed: \[[^\n]*\n){2}", result.stdout)
    for h in hosts:
        master, worker = before[h]
        assert main_pid(h) == master, "a reload keeps the master process"
        health = healthz(h, host_header=NEW_HOST)  # the new ALLOWED_HOSTS value is served
        assert health["ppid"] == master
        assert health["pid"] != worker, "new workers read the new .env"


def test_a_worker_count_change_restarts_and_dev_requirements_install(hosts):
    before = {h: main_pid(h) for h in hosts}
    result = run_site(*extra_vars(gunicorn_workers=1, virtualenv_requirements_file="requirements-dev.txt"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"TASK \[initech.django.gunicorn : Restart the service[^\n]*\n(changed: \[[^\n]*\n){2}", result.stdout)
    for h in hosts:
        assert main_pid(h) != before[h], "a new worker count needs a new master"
        assert "--workers 1 " in exec_start(h)
        assert len(h.process.filter(user=APP, comm="gunicorn")) == 2
        freeze = reqs.requirements_pinned(pip_freeze(h))
        assert "django-debug-toolbar" in freeze and "pytest" in freeze  # -r requirements.txt + dev tools
        assert healthz(h)["status"] == "ok"


def test_back_to_defaults_syncs_the_venv_to_the_lock_and_rebuilds_it_for_a_new_interpreter(hosts):
    for h in hosts:
        # Pretend the venv was built by another Python: the next deploy must rebuild it.
        h.run_expect([0], f"sed -i 's/^version = .*/version = 3.0.0/' {VENV}/pyvenv.cfg && touch {VENV}/stale-marker")
    result = run_site()
    assert result.returncode == 0, result.stdout[-3000:]
    for h in hosts:
        nproc = h.check_output("nproc")
        assert f"--workers {nproc} " in exec_start(h)
        assert not h.file(f"{VENV}/stale-marker").exists, "the venv was rebuilt"
        lock = h.file(f"{ROOT}/current/requirements.txt").content_string
        assert reqs.requirements_pinned(pip_freeze(h)) == reqs.requirements_pinned(lock)
        assert healthz(h)["status"] == "ok"
    # A dry run after that neither fails nor finds anything to change (molecule's idempotence step
    # already made the real second run).
    again = run_site("--check", "--diff")
    assert again.returncode == 0, again.stdout[-3000:]
    recap = again.stdout.split("PLAY RECAP")[-1]
    assert recap.count("changed=0") == len(hosts), recap


@pytest.fixture
def app_copy(tmp_path):
    """A copy of the demo app the test may break."""
    return copy_of_the_app(tmp_path)


def assert_refused(hosts, result, *messages):
    """The play failed naming the problem, and every host still runs what it ran."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    for message in messages:
        assert message in output, output[-3000:]


def test_an_unpinned_lock_is_refused_and_the_app_keeps_serving(hosts, app_copy):
    before = {h: snapshot(h) for h in hosts}
    lock = app_copy / "requirements.txt"
    lock.write_text(lock.read_text().replace("Django==5.2.19", "Django>=5.2"))
    result = run_site(*extra_vars(django_app_src=str(app_copy)), playbook="playbooks/deploy.yml")
    assert_refused(hosts, result, "requirements.txt is not a lock", "Django>=5.2 (not pinned with ==)")
    for h in hosts:
        assert snapshot(h) == before[h]


def test_a_key_missing_from_the_vars_is_refused(hosts, app_copy):
    before = {h: snapshot(h) for h in hosts}
    template = app_copy / ".env.template"
    template.write_text(template.read_text() + "STRIPE_API_KEY=\n")
    result = run_site(*extra_vars(django_app_src=str(app_copy)), playbook="playbooks/deploy.yml")
    assert_refused(hosts, result, "lists keys that have no value: STRIPE_API_KEY")
    for h in hosts:
        assert snapshot(h) == before[h]


def test_a_value_with_a_newline_is_refused_without_showing_it(hosts):
    before = {h: snapshot(h) for h in hosts}
    # Long and varied enough for production: only the line break is wrong with it.
    result = run_site(*extra_vars(vault_django_secret_key="sneaky-Zq8vR2mK9pL4wX7tB3nC6hJ1" + "\nSECRET-VALUE-1234-abcdefghijklmnop"))
    assert_refused(hosts, result, "SECRET_KEY: the value contains a line break")
    assert "SECRET-VALUE-1234" not in result.stdout + result.stderr
    for h in hosts:
        assert snapshot(h) == before[h]


def test_code_from_a_git_repository(hosts, tmp_path):
    repo = tmp_path / "demo.git"
    work = copy_of_the_app(tmp_path / "work")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.test"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "demo"], check=True)
    commit = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    # Refs that a loose match would take: a branch whose name ends in /main and sorts first, and a
    # name that is both a branch and a tag.
    subprocess.run([*git, "-C", str(work), "checkout", "-q", "-b", "attacker/main"], check=True)
    (work / "EVIL").write_text("evil\n")
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "evil"], check=True)
    subprocess.run([*git, "-C", str(work), "branch", "v2"], check=True)
    subprocess.run([*git, "-C", str(work), "tag", "-a", "v2", "-m", "v2", commit], check=True)
    subprocess.run([*git, "-C", str(work), "checkout", "-q", "main"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", "--mirror", str(work), str(repo)], check=True)
    for h in hosts:
        name = h.backend.get_hostname()
        h.run_expect([0], "mkdir -p /srv/git && rm -rf /srv/git/demo.git")
        subprocess.run(["docker", "cp", str(repo), f"{name}:/srv/git/demo.git"], check=True)
    # A deploy key (unused by file:// URLs, but installed as it would be for ssh://).
    key = tmp_path / "deploy_key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END OPENSSH PRIVATE KEY-----\n")
    result = run_site(*extra_vars(django_app_src="", django_app_git_repo="file:///srv/git/demo.git", django_app_git_version="main",
                                  django_app_git_key_file=str(key)), playbook="playbooks/deploy.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "TEST-ONLY-NOT-A-KEY" not in result.stdout + result.stderr
    for h in hosts:
        deploy_key = h.file(f"{ROOT}/.deploy-key")
        assert (deploy_key.user, deploy_key.group, deploy_key.mode) == ("root", "root", 0o600)
        assert current_release(h) == f"{ROOT}/releases/{commit[:12]}"
        assert f"@{commit}" in h.file(f"{ROOT}/current/.release").content_string
        assert healthz(h)["status"] == "ok"
    for h in hosts:
        assert not h.file(f"{ROOT}/current/EVIL").exists, "main is refs/heads/main, not refs/heads/attacker/main"
    missing = run_site(*extra_vars(django_app_src="", django_app_git_repo="file:///srv/git/demo.git", django_app_git_version="no-such-branch"), **REFUSAL)
    assert_refused(hosts, missing, "no branch or tag named exactly 'no-such-branch'")
    both = run_site(*extra_vars(django_app_src="", django_app_git_repo="file:///srv/git/demo.git", django_app_git_version="v2"), **REFUSAL)
    assert_refused(hosts, both, "'v2' is both refs/heads/v2 and refs/tags/v2")
    option = run_site(*extra_vars(django_app_src="", django_app_git_repo="--upload-pack=touch /tmp/pwned", django_app_git_version="main"), **REFUSAL)
    assert_refused(hosts, option, "django_app_git_repo must be a repository URL or path, not an option")
    pinned = run_site(*extra_vars(django_app_src="", django_app_git_repo="file:///srv/git/demo.git", django_app_git_version="main",
                                  django_app_git_require_commit=True), **REFUSAL)
    assert_refused(hosts, pinned, "django_app_git_version must be a full commit id")
    for h in hosts:
        assert not h.file("/tmp/pwned").exists
