"""The shipped playbooks refuse missing or contradictory inputs before anything changes, with a
message that names the variable and what to set (never Jinja's "undefined", never a secret).

The collection's db playbook (`ansible-playbook initech.django.db`) runs once, over one web host
per case, each reached with the local connection and given that case's inputs: its first play
checks every web role's inputs and changes nothing on web hosts, so a refused input can be seen
safely, and each host's first failure must name the problem.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = "initech.django.db"
SECRET = "k3y-" + "x7Qp2Lm9" * 7  # 60 characters, many different ones: a production-grade key
GOOD = {
    "django_app_name": "shop",
    "django_app_src": str(ROOT / "examples" / "initech-demo"),
    "django_app_environment": "prod",
    "django_app_settings_package": "shop.settings",
    "django_app_allowed_hosts": ["shop.example.test"],
    "django_app_secret_key": SECRET,
    "django_app_database": {"host": "db1.example.test"},
    "django_app_database_password": "pw with @:/# and spaces",
}


def host_vars(overrides):
    host = {**GOOD, **overrides}
    for name, value in overrides.items():
        if value is None:
            del host[name]
    # Local, as whoever runs the tests: no sudo (the playbooks' become is for real hosts).
    host.update(ansible_connection="local", ansible_python_interpreter=sys.executable, ansible_become=False)
    return host


def run_all(tmp_path, hosts: dict) -> dict:
    """One run of the db playbook over every given host at once, each with its own inputs: for
    each host, the messages of its failed tasks and those of the others; "": the whole output.

    Facts are gathered once, for localhost, and every host starts from a copy of them (a JSON fact
    cache, each with a machine id of its own), so that the run costs one fact gathering rather than one
    per host."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"),
               ANSIBLE_CACHE_PLUGIN_TIMEOUT="0", ANSIBLE_FORKS="10")
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.setup",
                    "-e", f"ansible_python_interpreter={sys.executable}"],
                   capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=True)
    [cached] = [p for p in (tmp_path / "facts").iterdir() if p.name.endswith("localhost")]
    cache = json.loads(cached.read_text())
    facts = json.loads(cache["__payload__"])
    for number, name in enumerate(hosts):  # each host a machine of its own, as in a real inventory
        facts["ansible_machine_id"] = f"{number:032x}"
        cache["__payload__"] = json.dumps(facts)
        cached.with_name(cached.name.replace("localhost", name)).write_text(json.dumps(cache))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"web": {"hosts": hosts}}}}))
    result = subprocess.run([str(bin_dir / "ansible-playbook"), PLAYBOOK, "-i", str(inventory)],
                            capture_output=True, text=True, timeout=900, check=False,
                            env=dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"), cwd=ROOT)
    said = {name: {"failed": [], "said": []} for name in hosts}
    report = json.loads(result.stdout[result.stdout.index("{"):])
    for play in report["plays"]:
        for task in play["tasks"]:
            for name, outcome in task["hosts"].items():
                text = " ".join(str(outcome.get("msg", "")).split())
                if outcome.get("failed"):
                    said[name]["failed"].append(f"{task['task']['name']}: {text or outcome}")
                else:
                    said[name]["said"].append(text)
    said[""] = result.stdout + result.stderr
    return said


GOOD_HOST = "good"


CASES = [
        ({"django_app_name": None}, "Set django_app_name"),
        ({"django_app_name": "Shop_1"}, "Set django_app_name"),
        ({"django_app_src": None}, "Give the app's code as django_app_src"),
        ({"django_app_git_repo": "https://git.example.test/shop.git"}, "not both"),
        ({"django_app_src": "/nonexistent/app"}, "is not a directory on the controller"),
        ({"django_app_src": str(ROOT / "examples")}, "has no manage.py at its top"),
        ({"django_app_environment": None}, "Set django_app_environment"),
        ({"django_app_settings_package": None}, "django_app_settings_package (e.g."),
        ({"django_app_allowed_hosts": None}, "django_app_allowed_hosts must list the host names"),
        ({"django_app_allowed_hosts": "shop.example.test"}, "django_app_allowed_hosts must list the host names"),
        ({"django_app_secret_key": None}, "Set django_app_secret_key"),
        ({"django_app_secret_key": "short"}, "django_app_secret_key is shorter than 50 characters"),
        ({"django_app_secret_key": "django-insecure-" + "a1b2c3d4e5" * 5}, "starts with django-insecure-"),
        ({"django_app_debug": True}, "django_app_debug is true in environment prod, which is production"),
        ({"django_app_database_password": None}, "the database needs password"),
        ({"django_app_database": {"engine": "mysql"}}, "the database needs host"),
        ({"django_app_database": {"engine": "oracle", "host": "db1"}}, "engine must be postgres, mysql or sqlite"),
        ({"django_app_database": {"engine": "mysql", "host": "db1"}, "django_app_database_pooling": True},
         "django_app_database_pooling pools PostgreSQL only"),
        ({"django_app_database_password": "line\nbreak"}, "contains a line break"),
        ({"django_app_healthcheck_path": "healthz"}, "django_app_healthcheck_path a path starting with /"),
        ({"django_app_keep_releases": 1}, "django_app_keep_releases must be at least 2"),
        ({"gunicorn_worker_class": "eventlet"}, "value of gunicorn_worker_class must be one of: gevent, sync, gthread"),
        ({"gunicorn_bind_tcp": ["8000"]}, "gunicorn_bind_tcp a list of host:port"),
        ({"nginx_tls_certificate_src": "/etc/ssl/certs/ca-certificates.crt"},
         "Give both nginx_tls_certificate_src and nginx_tls_key_src"),
        ({"django_app_dotenv": {"API_TOKEN": "$ecret"}}, "API_TOKEN"),
        ({"django_app_secret_key": "test-only-" + SECRET}, "django_app_secret_key holds a value marked test-only"),
        ({"django_app_root": "/etc/shop"}, "django_app_root must be a directory below one of"),
        ({"django_app_root": "/srv"}, "django_app_root must be a directory below one of"),
        ({"django_app_root": "/srv/../etc/shop"}, "django_app_root must be a directory below one of"),
        ({"django_app_name": "daemon"}, "user daemon exists"),
        ({"django_app_shared_dirs": ["../../../etc"]}, "django_app_static_dir and django_app_shared_dirs"),
        ({"gunicorn_bind_tcp": ["0.0.0.0:8000"]}, "gunicorn_bind_tcp 0.0.0.0:8000 listens beyond this host's loopback"),
        ({"django_app_src": None, "django_app_git_repo": "--upload-pack=touch /tmp/x"}, "not an option"),
        ({"django_app_src": None, "django_app_git_repo": "https://git.example.test/shop.git",
          "django_app_git_require_commit": True}, "django_app_git_version must be a full commit id"),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case, and one host with good inputs, in one run: each case is a host of its own. The
    good host is another app (its own name and host name), so no case clashes with it."""
    hosts = {f"case{number:02d}": host_vars(overrides) for number, (overrides, _) in enumerate(CASES)}
    hosts[GOOD_HOST] = host_vars({"django_app_name": "good", "django_app_allowed_hosts": ["good.example.test"]})
    # One address, three SSH ports (NAT, Vagrant): the same app on two ports clashes, on a third it does not.
    ported = {"django_app_name": "ported", "django_app_allowed_hosts": ["ported.example.test"], "ansible_host": "192.0.2.7"}
    for name, port in PORTED.items():
        hosts[name] = host_vars({**ported, "ansible_port": port})
    return run_all(tmp_path_factory.mktemp("inputs"), hosts)


PORTED = {"ported-a": 2201, "ported-b": 2202, "ported-c": 2201}


def test_good_inputs_pass(outcomes):
    assert outcomes[GOOD_HOST]["failed"] == [], outcomes[GOOD_HOST]["failed"]
    # db1.example.test is not set up here, and it says so
    assert any("is not in this inventory's db group" in text for text in outcomes[GOOD_HOST]["said"])


def test_no_secret_and_no_raw_jinja_error_in_any_output(outcomes):
    assert "is undefined" not in outcomes[""], "a raw Jinja error instead of a message"
    for secret in (SECRET, "pw with", "$ecret"):
        assert secret not in outcomes[""]


@pytest.mark.parametrize(("number", "message"), [(n, message) for n, (_, message) in enumerate(CASES)],
                         ids=[json.dumps(overrides)[:60] for overrides, _ in CASES])
def test_bad_inputs_are_refused_naming_the_variable(outcomes, number, message):
    failed = outcomes[f"case{number:02d}"]["failed"]
    assert failed, f"{CASES[number][0]} was not refused"
    assert message in failed[0], failed


def test_hosts_of_one_address_are_one_machine_per_ssh_port(outcomes):
    assert outcomes["ported-b"]["failed"] == [], outcomes["ported-b"]["failed"]
    for name, other in (("ported-a", "ported-c"), ("ported-c", "ported-a")):
        [failed] = outcomes[name]["failed"]
        assert f"shares its machine (192.0.2.7:2201) with {other}," in failed
        assert "ported-b" not in failed
