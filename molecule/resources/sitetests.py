"""Helpers the site scenarios (web, db, mariadb) share: HTTP through the app's socket and through
nginx, the vault's values, ansible-playbook runs, measurements, the secrets scan."""

import base64
import json
import re
import shutil
import time
from contextlib import contextmanager
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import testinfra
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(PROJECT / "plugins" / "filter"))

APP = "initech-demo"
ROOT = f"/srv/{APP}"
SOCKET = f"/run/gunicorn/{APP}.sock"
# The live release's venv (a link to /srv/<app>/venvs/<key>).
VENV = f"{ROOT}/current/.venv"
SETTINGS = {"prod": "initech_demo.settings.prod", "staging": "initech_demo.settings.staging"}
VAULT_PASSWORD = PROJECT / "tests" / "vault-password-TEST-ONLY.txt"

# An HTTP client that talks to gunicorn's unix socket, run inside the test host.
_HTTP = r"""
import http.client, json, socket, sys
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(60)
        self.sock.connect(sys.argv[1])
conn = Unix("localhost")
conn.request(sys.argv[2], sys.argv[3], headers={"Host": sys.argv[4]})
response = conn.getresponse()
print(json.dumps({"status": response.status, "body": response.read().decode()}))
"""


def http(host, path, method="GET", host_header="localhost"):
    """(status, body) of a request through the app's unix socket, from inside the host."""
    result = host.run("python3 -c %s %s %s %s %s", _HTTP, SOCKET, method, path, host_header)
    assert result.rc == 0, result.stderr
    reply = json.loads(result.stdout)
    return reply["status"], reply["body"]


_NGINX = r"""
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=60)
conn.request("GET", sys.argv[1], headers={"Host": sys.argv[2]})
response = conn.getresponse()
print(json.dumps({"status": response.status, "type": response.getheader("Content-Type", ""),
                  "headers": {k.lower(): v for k, v in response.getheaders()},
                  "body": response.read().decode(errors="replace")}))
"""


def via_nginx(host, path, host_header="localhost", headers=False):
    """{status, type, body} (and headers, lower-cased) of a request through nginx on the host's
    loopback, from inside it."""
    result = host.run("python3 -c %s %s %s", _NGINX, path, host_header)
    assert result.rc == 0, result.stderr
    reply = json.loads(result.stdout)
    if not headers:
        del reply["headers"]
    return reply


def healthz(host, host_header="localhost"):
    status, body = http(host, "/healthz", host_header=host_header)
    assert status == 200, body
    return json.loads(body)


def environment_of(host):
    groups = host.ansible.get_variables()["group_names"]
    [env] = [g for g in groups if g in SETTINGS]
    return env


def vault(env):
    """The (fake, test-only) vault values of an environment, decrypted like ansible does."""
    out = subprocess.run(
        ["ansible-vault", "view", "--vault-password-file", str(VAULT_PASSWORD), str(PROJECT / "group_vars" / env / "vault.yml")],
        capture_output=True, text=True, check=True,
    ).stdout
    return yaml.safe_load(out)


def main_pid(host):
    return int(host.check_output("systemctl show -p MainPID --value %s.service", APP))


def exec_start(host):
    return host.check_output("systemctl show -p ExecStart --value %s.service", APP)


def current_release(host):
    return host.check_output("readlink %s/current", ROOT)


def pip_freeze(host):
    return host.check_output("%s/bin/python -m pip freeze --disable-pip-version-check", VENV)


def inventory():
    """molecule's inventory directory: its generated hosts file and what the scenario links beside
    it (group_vars, host_vars, and hosts of the scenario's own, as the apps scenario's)."""
    return os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])


def run_site(*extra_args, limit=None, playbook="site.yml", plain=False):
    """Run a playbook (site.yml, playbooks/deploy.yml, ...) against the scenario's hosts like a
    user would; return the completed process. plain: with ansible-core's own strategy, as the
    README's commands run, even when the tests use Mitogen's (make does, for speed)."""
    cmd = ["ansible-playbook", "-i", inventory(), str(PROJECT / playbook), *extra_args]
    if limit:
        cmd += ["--limit", limit]
    print("+", shlex.join(cmd))
    # Plain, unwrapped output, so messages can be matched whole.
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    if plain:
        env.pop("ANSIBLE_STRATEGY", None)
        env.pop("ANSIBLE_STRATEGY_PLUGINS", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)


def measure(name, **values):
    """Keep a number the closing notes and README quote: printed, and appended as a JSON line to
    .molecule-logs/measurements.jsonl (make molecule prints that file at the end)."""
    line = json.dumps({"measure": name, **values})
    print(line)
    logs = PROJECT / ".molecule-logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "measurements.jsonl", "a") as out:
        out.write(line + "\n")


@pytest.fixture(scope="module")
def hosts():
    """Every test host of the scenario, for tests that change them all with one playbook run."""
    return testinfra.get_hosts(["ansible://all"], ansible_inventory=inventory())


# --- Secrets: no vault value in any output, nor in a file others (or the app) may read ------------

def secret_forms(values: dict) -> dict:
    """{label: text} for each secret and the forms it could leak in: as is, percent-encoded (a URL),
    base64 (an encoded header or file), JSON-escaped."""
    forms = {}
    for name, value in values.items():
        value = str(value)
        raw = value.encode()
        for form, text in (
            ("as is", value),
            ("percent-encoded", quote(value, safe="")),
            ("form-encoded", quote_plus(value)),
            ("base64", base64.b64encode(raw).decode()),
            ("base64url", base64.urlsafe_b64encode(raw).decode()),
            ("JSON-escaped", json.dumps(value)[1:-1]),
        ):
            forms.setdefault(text, f"{name} ({form})")
    return {label: text for text, label in forms.items()}


def secrets_in(text: str, values: dict) -> list[str]:
    """Which secrets (and in which form) appear in the text, each with the text around its first
    appearance (the secret itself masked), to find what printed it."""
    found = []
    for label, needle in secret_forms(values).items():
        at = text.find(needle)
        if at >= 0:
            around = text[max(0, at - 400):at + len(needle) + 200].replace(needle, "[SECRET]")
            found.append(f"{label} in: ...{around}...")
    return found


_SCAN = r"""
import base64, json, os, stat, sys
needles = {label: text.encode() for label, text in json.loads(base64.b64decode(sys.argv[1])).items()}
group = int(sys.argv[2])
allowed = set(json.loads(sys.argv[3]))
hits, scanned = [], 0
searchable = {}


def reachable(directory):
    # Every directory on the way may be entered by others, or by the group.
    if directory not in searchable:
        try:
            info = os.stat(directory)
        except OSError:
            return False
        mine = bool(info.st_mode & stat.S_IXOTH or (info.st_gid == group and info.st_mode & stat.S_IXGRP))
        parent = os.path.dirname(directory)
        searchable[directory] = mine and (parent == directory or reachable(parent))
    return searchable[directory]


for root in ("/etc", "/srv", "/var", "/run", "/tmp", "/opt", "/home", "/root", "/usr/local"):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size > 20_000_000 or path in allowed:
                continue
            if not (info.st_mode & stat.S_IROTH or (info.st_gid == group and info.st_mode & stat.S_IRGRP)):
                continue
            if not reachable(dirpath):
                continue
            try:
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError:
                continue
            scanned += 1
            hits += [[path, label] for label, needle in needles.items() if needle in content]
print(json.dumps({"scanned": scanned, "hits": hits}))
"""


def secrets_in_readable_files(host, values: dict, group: str, allowed=()) -> dict:
    """{"scanned": files read, "hits": [[path, secret]]}: files of the host that anyone, or the
    given group, may read and that hold a secret (in any of its forms); `allowed` are meant to."""
    needles = base64.b64encode(json.dumps(secret_forms(values)).encode()).decode()
    gid = host.check_output("getent group %s | cut -d: -f3 || echo -1", group) or "-1"
    with host.sudo():
        out = host.check_output("python3 -c %s %s %s %s", _SCAN, needles, gid, json.dumps(list(allowed)))
    return json.loads(out)


# --- Load through nginx while a deploy runs -------------------------------------------------------

LOADGEN = Path(__file__).with_name("loadgen.py")


@contextmanager
def load(hosts, host_header="localhost"):
    """Requests through nginx on every host, from inside it (a docker container), while the block
    runs; {host: totals} once it ended (loadgen.py)."""
    results = {}
    for h in hosts:
        name = h.backend.get_hostname()
        container = h.ansible.get_variables().get("ansible_host", name)
        subprocess.run(["docker", "cp", str(LOADGEN), f"{container}:/root/loadgen.py"], check=True)
        h.run_expect([0], "rm -f /root/load.json /root/load.stop")
        subprocess.run(["docker", "exec", "-d", container, "python3", "/root/loadgen.py", "/root/load.json",
                        "/root/load.stop", "8", host_header], check=True)
    time.sleep(2)  # the generators are running before the deploy starts
    try:
        yield results
    finally:
        time.sleep(2)  # and still run after it ended
        for h in hosts:
            h.run_expect([0], "touch /root/load.stop")
        for h in hosts:
            for _ in range(120):
                if h.file("/root/load.json").exists:
                    break
                time.sleep(0.5)
            results[h.backend.get_hostname()] = json.loads(h.file("/root/load.json").content_string)




# --- The demo app at another version --------------------------------------------------------------

def app_copy(tmp_path, version=None, edit=None):
    """A copy of the demo app, saying it is `version` if given, optionally changed by edit(copy)."""
    copy = tmp_path / f"initech-demo-{version or 'copy'}"
    shutil.copytree(PROJECT / "examples" / "initech-demo", copy,
                    ignore=shutil.ignore_patterns("__pycache__", ".env", "db.sqlite3", ".pytest_cache"))
    if version:
        init = copy / "initech_demo" / "__init__.py"
        init.write_text(re.sub(r'__version__ = ".*"', f'__version__ = "{version}"', init.read_text()))
    if edit:
        edit(copy)
    return copy




def failing_release(tmp_path):
    """The demo, changed so that it answers no host name: a release that fails its health check
    (and only it: the release it returns to still passes)."""

    def nowhere(copy):
        base = copy / "initech_demo" / "settings" / "base.py"
        base.write_text(base.read_text() + '\nALLOWED_HOSTS = ["nowhere.invalid"]\n')

    return app_copy(tmp_path, "0.0.1-fails", nowhere)


def verbose_failing_deploy(tmp_path):
    """A deploy with -vvv --diff that changes .env (so a diff would show it) and then fails its
    health check and goes back: the run that would print secrets if anything does."""
    values = {"django_app_src": str(failing_release(tmp_path)),
              "django_app_dotenv": {"SELF_URL": "http://127.0.0.1:8000", "EXTRA": "x"},
              "django_app_healthcheck_retries": 2, "django_app_healthcheck_delay": 1}
    # The README's way (Mitogen's strategy at -vvv logs every module's arguments, no_log or not).
    result = run_site("-vvv", "--diff", "-e", json.dumps(values), playbook="playbooks/deploy.yml", plain=True)
    assert result.returncode != 0 and "is back on release" in result.stdout, result.stdout[-3000:]
    return result


def assert_no_secret_anywhere(hosts, values: dict, tmp_path, scenario: str, app: str = "initech-demo"):
    """The secret scan of a scenario: a verbose converge (-vvv --diff) and a verbose failing deploy
    print none of the values (in any of their forms), and no file others or the app's group may
    read holds one, but the app's .env. Records the counts (measure)."""
    converge = run_site("-vvv", "--diff", plain=True)
    assert converge.returncode == 0, converge.stdout[-3000:]
    failing = verbose_failing_deploy(tmp_path)
    output = converge.stdout + converge.stderr + failing.stdout + failing.stderr
    leaks = secrets_in(output, values)
    assert not leaks, "\n\n".join(leaks)
    found = {h.backend.get_hostname(): secrets_in_readable_files(h, values, app, allowed=[f"/srv/{app}/shared/.env"])
             for h in hosts}
    assert all(f["hits"] == [] for f in found.values()), found
    measure(f"secrets scan ({scenario})", secret_values=len(values), output_lines=output.count("\n"),
            files_scanned=sum(f["scanned"] for f in found.values()), hits=0)
