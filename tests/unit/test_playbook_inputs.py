"""The shipped playbooks refuse missing or contradictory inputs before anything changes, with a
message that names the variable and what to set (never Jinja's "undefined", never a secret).

Each case runs the collection's db playbook (`ansible-playbook initech.django.db`) against one
web host reached with the local connection: its first play gathers facts and checks every web
role's inputs, and changes nothing on web hosts, so a refused input can be seen safely.
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


def run(tmp_path, **overrides):
    host = {**GOOD, **overrides}
    for name, value in overrides.items():
        if value is None:
            del host[name]
    host.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"web": {"hosts": {"web1": host}}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), PLAYBOOK, "-i", str(inventory)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    return result.returncode, result.stdout + result.stderr


def test_good_inputs_pass(tmp_path):
    code, out = run(tmp_path)
    assert code == 0, out[-3000:]
    assert "is not in this inventory's db group" in out  # db1.example.test is not set up here, and it says so
    assert SECRET not in out and "pw with" not in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
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
    ],
    ids=lambda value: json.dumps(value)[:60] if isinstance(value, dict) else None,
)
def test_bad_inputs_are_refused_naming_the_variable(tmp_path, overrides, message):
    code, out = run(tmp_path, **overrides)
    assert code != 0, out[-3000:]
    assert message in " ".join(out.split()), out[-3000:]
    assert "is undefined" not in out, "a raw Jinja error instead of a message"
    assert SECRET not in out and "pw with" not in out and "$ecret" not in out
