"""nginx in front of a stand-in for gunicorn (it echoes what nginx sends it, as JSON): proxying
with the forwarded headers, static and media files, TLS with a redirect, HTTP/2 and HSTS on
Debian 13; then, through ansible-playbook runs of the role: check mode changes nothing, a site
nginx refuses never replaces the live one, and a second, TLS site on Debian 12 (nginx 1.22) goes
live with a graceful reload.

Every request is made from inside the test host, to 127.0.0.1."""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import testinfra

SCENARIO = Path(__file__).resolve().parents[1]
SITE = "/etc/nginx/sites-available/demo.conf"
TLS_NAME = "demo.example.test"
PLAIN_HOST, TLS_HOST = "nginx-bookworm", "nginx-trixie"
ROLE_TAGS = "nginx_preflight,nginx_install,nginx_configure,nginx_run"


def is_tls(host):
    return host.backend.get_hostname() == TLS_HOST


def curl(host, url, *args, name=TLS_NAME):
    """(status, headers, body, http version) of a request from inside the host. Requests to
    https://<name>[:port] connect to 127.0.0.1 (SNI and Host carry the name)."""
    resolve = []
    if url.startswith("https://"):
        authority = url.split("/")[2]
        port = authority.split(":")[1] if ":" in authority else "443"
        resolve = ["-k", "--resolve", f"{name}:{port}:127.0.0.1"]
    marker = "\n--http-version:"
    cmd = ["curl", "-sS", "-i", "--max-time", "20", *resolve, *args, "-w", marker + "%{http_version}", url]
    result = host.run(shlex.join(cmd))
    assert result.rc == 0, result.stderr
    response, version = result.stdout.rsplit(marker, 1)
    head, _, body = response.partition("\r\n\r\n")
    status_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body, version.strip()


def app_url(host, path):
    """The app's URL on this host: HTTPS by name on the TLS host, plain HTTP elsewhere."""
    return f"https://{TLS_NAME}{path}" if is_tls(host) else f"http://127.0.0.1{path}"


def echo(host, path, *args):
    """What the stand-in app received for a request to path."""
    status, headers, body, _ = curl(host, app_url(host, path), *args)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    return json.loads(body)


def master_pid(host):
    return int(host.check_output("systemctl show -p MainPID --value nginx.service"))


def start_role_run(*args, limit=None):
    """Start ansible-playbook converge.yml limited to the role's tasks (the stand-in app is there)."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "converge.yml"),
           "--tags", ROLE_TAGS, *args]
    if limit:
        cmd += ["--limit", limit]
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_NOCOLOR="1")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(run):
    """(returncode, all output, the json callback's result) of a started run."""
    stdout, stderr = run.communicate(timeout=300)
    return run.returncode, stdout + stderr, json.loads(stdout)


@pytest.fixture(scope="module")
def plain():
    return testinfra.get_host(f"ansible://{PLAIN_HOST}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


# --- the converged hosts -------------------------------------------------------------------


def test_nginx_runs_and_is_enabled(host):
    nginx = host.service("nginx")
    assert nginx.is_running
    assert nginx.is_enabled


def test_configuration_passes_nginx_t_without_warnings(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_site_is_enabled_and_default_site_gone(host):
    site = host.file(SITE)
    assert site.user == "root" and site.mode == 0o644
    assert "Ansible managed" in site.content_string.splitlines()[1]
    link = host.file("/etc/nginx/sites-enabled/demo.conf")
    assert link.is_symlink and link.linked_to == SITE
    assert not host.file("/etc/nginx/sites-enabled/default").exists


def test_upstream_has_no_keepalive(host):
    site = host.file(SITE).content_string
    assert "server unix:/run/gunicorn/demo.sock" in site
    assert "keepalive" not in site.replace("# No upstream keepalive", "")


def test_request_reaches_the_app_with_forwarded_headers(host):
    # The plain host is the default server: any Host header reaches the app, unchanged.
    args = [] if is_tls(host) else ["-H", "Host: any-name.example.test"]
    seen = echo(host, "/some/path?q=1", *args)
    assert seen["path"] == "/some/path?q=1"
    assert seen["host"] == (TLS_NAME if is_tls(host) else "any-name.example.test")
    assert seen["forwarded_proto"] == ("https" if is_tls(host) else "http")
    assert seen["forwarded_for"] == "127.0.0.1"
    assert seen["real_ip"] == "127.0.0.1"


def test_request_bodies_up_to_the_limit(host):
    assert echo(host, "/upload", "--data-binary", "x" * 1000)["body_length"] == 1000
    too_big = host.run(
        "head -c 11000000 /dev/zero | curl -sS -k -o /dev/null -w '%%{http_code}' --resolve %s:443:127.0.0.1 "
        "--data-binary @- %s",
        TLS_NAME,
        app_url(host, "/upload"),
    )
    assert too_big.stdout == "413", too_big.stderr


def test_static_files_are_served_with_cache_headers_and_not_logged(host):
    status, headers, body, _ = curl(host, app_url(host, "/static/css/site.css?static-probe"))
    assert status == 200
    assert body == "body { color: teal; }\n"
    assert headers["content-type"] == "text/css"
    assert headers["cache-control"] == "max-age=2592000"
    assert "expires" in headers
    echo(host, "/proxied-probe")
    log = host.file("/var/log/nginx/access.log").content_string
    assert "/proxied-probe" in log
    assert "static-probe" not in log


def test_media_files_are_served(host):
    status, headers, body, _ = curl(host, app_url(host, "/media/upload.txt"))
    assert status == 200
    assert body == "uploaded\n"
    assert "cache-control" not in headers


def test_nginx_user_reaches_the_socket_through_its_group(host):
    # The contract the role checks: nginx's user can connect to the socket, mode 0660 group www-data.
    sock = host.file("/run/gunicorn/demo.sock")
    assert sock.is_socket and sock.group == "www-data" and sock.mode == 0o660
    assert host.run("runuser -u www-data -- test -w /run/gunicorn/demo.sock").rc == 0
    assert host.run("runuser -u nobody -- test -w /run/gunicorn/demo.sock").rc != 0


def test_http_redirects_to_https(host):
    if not is_tls(host):
        pytest.skip("TLS host only")
    status, headers, _, _ = curl(host, "http://127.0.0.1/some/path?q=1", "-H", f"Host: {TLS_NAME}")
    assert status == 301
    assert headers["location"] == f"https://{TLS_NAME}/some/path?q=1"


def test_https_speaks_http2_with_hsts(host):
    if not is_tls(host):
        pytest.skip("TLS host only")
    status, headers, _, version = curl(host, app_url(host, "/"), "--http2")
    assert (status, version) == (200, "2")
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert "http2 on;" in host.file(SITE).content_string  # nginx 1.26's form


def test_https_offers_tls_1_2_and_1_3_only(host):
    if not is_tls(host):
        pytest.skip("TLS host only")
    # SECLEVEL=0 lets the client offer TLS 1.1: the refusal then comes from nginx, as an alert.
    lenient = ["--ciphers", "DEFAULT:@SECLEVEL=0"]
    for version in ("1.2", "1.3"):
        status, _, _, _ = curl(host, app_url(host, "/"), *lenient, f"--tlsv{version}", "--tls-max", version)
        assert status == 200, version
    old = host.run(shlex.join(["curl", "-sS", "-k", "-o", "/dev/null", *lenient, "--tlsv1.1", "--tls-max", "1.1",
                               "--resolve", f"{TLS_NAME}:443:127.0.0.1", app_url(host, "/")]))
    assert old.rc != 0 and "alert protocol version" in old.stderr, old.stderr


def test_tls_files_are_root_only_where_secret(host):
    if not is_tls(host):
        assert not host.file("/etc/nginx/tls/demo.key").exists
        assert not host.socket("tcp://0.0.0.0:443").is_listening
        return
    key = host.file("/etc/nginx/tls/demo.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    cert = host.file("/etc/nginx/tls/demo.crt")
    assert (cert.user, cert.group, cert.mode) == ("root", "root", 0o644)


# --- ansible-playbook runs of the role ----------------------------------------------------
# Three runs at once, to save time; none gets in another's way: check mode on the TLS host (it runs
# every task of the role), and on the plain host a site nginx refuses (nothing changes) and a
# second, TLS site (a new file, then a reload).

SECOND_NAME = "second.example.test"


@pytest.fixture(scope="module")
def runs(plain):
    tls_dir = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tls"
    second = {
        "nginx_app_name": "second",
        "nginx_server_names": [SECOND_NAME],
        "nginx_listen_port": 8080,
        "nginx_tls_port": 8443,
        "nginx_tls_certificate_src": str(tls_dir / "demo.crt"),
        "nginx_tls_key_src": str(tls_dir / "demo.key"),
    }
    before = {"site": plain.file(SITE).sha256sum, "pid": master_pid(plain)}
    started = {
        "check": start_role_run("--check", "--diff", limit=TLS_HOST),
        "refused": start_role_run("-e", json.dumps({"nginx_client_max_body_size": "10zb"}), limit=PLAIN_HOST),
        "second": start_role_run("-e", json.dumps(second), limit=PLAIN_HOST),
    }
    return before, {name: finish(run) for name, run in started.items()}


def test_check_mode_on_a_converged_host_changes_nothing(runs):
    rc, output, result = runs[1]["check"]
    assert rc == 0, output[-3000:]
    assert list(result["stats"]) == [TLS_HOST]
    assert result["stats"][TLS_HOST]["changed"] == 0, result["stats"]


def test_a_site_nginx_refuses_does_not_replace_the_live_one(plain, runs):
    before, done = runs
    rc, output, _ = done["refused"]
    assert rc != 0
    assert "failed to validate" in output
    assert 'client_max_body_size\\" directive invalid value' in output, output[-3000:]
    assert plain.file(SITE).sha256sum == before["site"]
    assert "client_max_body_size 10m;" in plain.file(SITE).content_string
    assert echo(plain, "/still-serving")["path"] == "/still-serving"


def test_a_second_tls_site_on_nginx_1_22_goes_live_with_a_reload(plain, runs):
    before, done = runs
    rc, output, result = done["second"]
    assert rc == 0, output[-3000:]
    ran = {t["task"]["name"].split(" : ")[-1] for play in result["plays"] for t in play["tasks"]}
    assert "Reload nginx" in ran
    assert master_pid(plain) == before["pid"], "a reload keeps the master process"
    site = plain.file("/etc/nginx/sites-available/second.conf").content_string
    assert "listen 8443 ssl http2;" in site and "http2 on;" not in site  # nginx 1.22's form
    result = plain.run("nginx -t")
    assert result.rc == 0 and "[warn]" not in result.stderr, result.stderr
    status, headers, _, _ = curl(plain, "http://127.0.0.1:8080/x?y", "-H", f"Host: {SECOND_NAME}")
    assert (status, headers["location"]) == (301, f"https://{SECOND_NAME}:8443/x?y")
    status, _, body, version = curl(plain, f"https://{SECOND_NAME}:8443/x", "--http2", name=SECOND_NAME)
    assert (status, version) == (200, "2")
    assert json.loads(body)["forwarded_proto"] == "https"
    # The first site still serves, as the default server of port 80.
    assert echo(plain, "/first")["path"] == "/first"


def test_a_host_name_no_site_claims_gets_no_answer(host):
    if not is_tls(host):
        pytest.skip("the plain host's site has no names: it is the default server itself")
    result = host.run("curl -sS -o /dev/null -H 'Host: evil.example.test' http://127.0.0.1/")
    assert result.rc == 52, (result.rc, result.stderr)  # "Empty reply from server": nginx's 444
    tls = host.run("curl -sS -o /dev/null -k --resolve evil.example.test:443:127.0.0.1 https://evil.example.test/")
    assert tls.rc == 35, (tls.rc, tls.stderr)  # the handshake is refused for a name no site has
