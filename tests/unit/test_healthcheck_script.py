"""roles/django_app/files/healthcheck.py, run as a deploy runs it (python3 -c CONTENT JSON) against
real servers on 127.0.0.1 ephemeral ports, a unix socket and TLS with a self-signed certificate."""

import http.server
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# As the role hands it over: lookup('ansible.builtin.file', ...) strips trailing whitespace.
SCRIPT = (ROOT / "roles" / "django_app" / "files" / "healthcheck.py").read_text().rstrip()
KEYS = {"ok", "attempts", "status", "reason", "error", "location", "body", "elapsed", "url", "host"}
NAME = "app.example.test"
FAST = {"delay": 0.05, "timeout": 5}


def run(config, env=None):
    """Run the script like the deploy; check the output contract; return the parsed result."""
    argv = [sys.executable, "-c", SCRIPT]
    if config is not None:
        argv.append(config if isinstance(config, str) else json.dumps(config))
    environment = dict(os.environ, **(env or {}))
    # http.client never uses proxies: a bogus one must change nothing.
    environment.update(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                       HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/", env=environment)
    assert proc.stderr == ""
    assert proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1, proc.stdout
    result = json.loads(proc.stdout)
    assert set(result) == KEYS
    assert proc.returncode == (0 if result["ok"] else 1)
    assert isinstance(result["elapsed"], float) and result["elapsed"] >= 0
    return result


class App:
    """What the fake app answers (one entry per request, the last one repeated) and what it saw."""

    def __init__(self, *answers, sleep=0):
        self.answers = list(answers) or [(200, {}, b"ok")]
        self.sleep = sleep
        self.requests = []  # (method, path, headers)
        self.server_names = []  # SNI names of TLS handshakes (None: none sent)

    def handler(self):
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                app.requests.append(("GET", self.path, dict(self.headers.items())))
                status, headers, body = app.answers.pop(0) if len(app.answers) > 1 else app.answers[0]
                time.sleep(app.sleep)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # failed TLS handshakes, clients gone


@pytest.fixture
def serve():
    """serve(app, kind="http"|"https"|"unix", where=socket path, cert=(cert, key)) -> base url."""
    servers = []

    def start(app, kind="http", where=None, cert=None):
        if kind == "unix":
            server = UnixHTTPServer(str(where), app.handler())
            base = f"unix:{where}:"
        else:
            server = QuietHTTPServer(("127.0.0.1", 0), app.handler())
            base = f"{kind}://127.0.0.1:{server.server_address[1]}"
        if kind == "https":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*cert)
            context.sni_callback = lambda sock, name, ctx: app.server_names.append(name)
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return base

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not found")
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}",
                    "-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")],
                   check=True, capture_output=True)
    return str(where / "cert.pem"), str(where / "key.pem")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_200_with_matching_body_passes_and_sends_the_headers(serve):
    app = App((200, {}, b"<h1>release 42</h1>"))
    url = serve(app) + "/healthz?full=1"
    result = run(dict(FAST, url=url, host=NAME, statuses=[200], expect=r"release \d+", retries=3))
    assert result == dict(result, ok=True, attempts=1, status=200, reason="OK", error=None, location=None,
                          body="<h1>release 42</h1>", url=url, host=NAME)
    [(method, path, headers)] = app.requests
    assert (method, path) == ("GET", "/healthz?full=1")
    assert headers["Host"] == NAME
    assert headers["User-Agent"] == "initech-django-healthcheck"
    assert headers["Accept"] == "text/html,application/json;q=0.9,*/*;q=0.8"
    assert "X-Forwarded-Proto" not in headers


def test_without_host_the_host_header_is_the_urls_address(serve):
    app = App()
    url = serve(app) + "/"
    assert run(dict(FAST, url=url, host="", statuses=[200], retries=1))["ok"]
    assert app.requests[0][2]["Host"] == url.split("/")[2]  # 127.0.0.1:PORT


def test_defaults_take_a_200_with_any_body(serve):
    assert run({"url": serve(App()) + "/"})["ok"]


def test_unix_socket(serve, tmp_path):
    app = App((200, {}, b"hello from gunicorn"))
    url = serve(app, "unix", tmp_path / "s.sock") + "/up?x=1"
    result = run(dict(FAST, url=url, host=NAME, statuses=[200], expect="gunicorn", retries=1))
    assert result["ok"] and result["status"] == 200
    [(_, path, headers)] = app.requests
    assert path == "/up?x=1" and headers["Host"] == NAME


def test_missing_unix_socket_is_a_failed_try(tmp_path):
    result = run(dict(FAST, url=f"unix:{tmp_path}/none.sock:/", statuses=[200], retries=2))
    assert not result["ok"] and result["attempts"] == 2 and result["status"] is None
    assert result["error"].startswith("FileNotFoundError: ")


def test_500_then_200_passes_on_a_later_try(serve):
    app = App((500, {}, b"Server Error"), (500, {}, b"Server Error"), (200, {}, b"fine"))
    result = run(dict(FAST, url=serve(app) + "/", statuses=[200], expect="fine", retries=5))
    assert result["ok"] and result["attempts"] == 3 and result["status"] == 200 and result["body"] == "fine"
    assert len(app.requests) == 3


def test_tries_run_out(serve):
    app = App((502, {}, b"Bad Gateway"))
    result = run(dict(FAST, url=serve(app) + "/", statuses=[200], retries=3))
    assert not result["ok"] and result["attempts"] == 3 and len(app.requests) == 3
    assert result["status"] == 502 and result["reason"] == "Bad Gateway" and result["body"] == "Bad Gateway"
    assert result["error"] is None


def test_a_redirect_is_not_followed(serve):
    app = App((301, {"Location": "https://app.example.test/"}, b"moved"))
    url = serve(app) + "/"
    result = run(dict(FAST, url=url, host=NAME, statuses=[200, 302], retries=2))
    assert not result["ok"] and result["attempts"] == 2
    assert (result["status"], result["reason"]) == (301, "Moved Permanently")
    assert result["location"] == "https://app.example.test/"
    assert [path for _, path, _ in app.requests] == ["/", "/"]
    # ... and passes when that status is accepted
    assert run(dict(FAST, url=url, host=NAME, statuses=[301], retries=1))["location"] == "https://app.example.test/"


def test_expect_mismatch_fails(serve):
    app = App((200, {}, b"<h1>release 41</h1>"))
    result = run(dict(FAST, url=serve(app) + "/", statuses=[200], expect="release 42", retries=2))
    assert not result["ok"] and result["attempts"] == 2
    assert (result["status"], result["body"], result["error"]) == (200, "<h1>release 41</h1>", None)


def test_body_is_decoded_with_replacement_cut_but_searched_whole(serve):
    app = App((200, {}, b"\xff" + b"a" * 5000 + b"MARKER"))
    result = run(dict(FAST, url=serve(app) + "/", statuses=[200], expect="MARKER$", retries=1))
    assert result["ok"]
    assert result["body"] == "\ufffd" + "a" * 1999


def test_connection_refused_fails_with_the_error(serve):
    url = f"http://127.0.0.1:{free_port()}/"
    result = run(dict(FAST, url=url, statuses=[200], retries=2))
    assert not result["ok"] and result["attempts"] == 2 and result["status"] is None and result["body"] is None
    assert result["error"].startswith("ConnectionRefusedError: ")
    assert result["elapsed"] >= 0.05  # the delay between the tries


def test_a_slow_answer_times_out(serve):
    app = App(sleep=3)
    start = time.monotonic()
    result = run(dict(url=serve(app) + "/", statuses=[200], retries=1, delay=0, timeout=0.3))
    assert not result["ok"] and result["error"].startswith("TimeoutError: ")
    assert time.monotonic() - start < 2.5


def test_https_sends_the_host_as_sni_and_host_header(serve, cert):
    app = App((200, {}, b"secure"))
    url = serve(app, "https", cert=cert) + "/healthz"
    result = run(dict(FAST, url=url, host=NAME, statuses=[200], expect="secure", retries=1))
    assert result["ok"], result
    assert app.server_names == [NAME]
    assert app.requests[0][2]["Host"] == NAME
    assert "X-Forwarded-Proto" not in app.requests[0][2]


def test_https_without_host_sends_no_sni(serve, cert):
    app = App()
    url = serve(app, "https", cert=cert) + "/"
    assert run(dict(FAST, url=url, host="", statuses=[200], retries=1))["ok"]
    assert app.server_names == [None]
    assert app.requests[0][2]["Host"] == url.split("/")[2]


def test_https_verified_fails_on_a_self_signed_certificate(serve, cert, tmp_path):
    app = App()
    url = serve(app, "https", cert=cert) + "/"
    result = run(dict(FAST, url=url, host=NAME, statuses=[200], retries=2, insecure=False),
                 env={"SSL_CERT_FILE": str(tmp_path / "none.pem"), "SSL_CERT_DIR": str(tmp_path)})
    assert not result["ok"] and result["attempts"] == 2 and result["status"] is None
    assert result["error"].startswith("SSLCertVerificationError: ") and "CERTIFICATE_VERIFY_FAILED" in result["error"]
    assert app.requests == []


def test_https_verified_checks_the_sni_name(serve, cert, tmp_path):
    """With the certificate trusted, verification passes for its name and fails for another."""
    app = App()
    url = serve(app, "https", cert=cert) + "/"
    trust = {"SSL_CERT_FILE": cert[0], "SSL_CERT_DIR": str(tmp_path)}
    assert run(dict(FAST, url=url, host=NAME, statuses=[200], retries=1, insecure=False), env=trust)["ok"]
    result = run(dict(FAST, url=url, host="other.example.test", statuses=[200], retries=1, insecure=False), env=trust)
    assert not result["ok"] and "other.example.test" in result["error"]
    assert app.server_names == [NAME, "other.example.test"]


GOOD = {"url": "http://127.0.0.1:9/", "statuses": [200], "retries": 1, "delay": 0.05, "timeout": 1}


@pytest.mark.parametrize(
    "config, key",
    [
        ({k: v for k, v in GOOD.items() if k != "url"}, "url"),
        (dict(GOOD, url=""), "url"),
        (dict(GOOD, url="ftp://127.0.0.1/"), "url"),
        (dict(GOOD, url="http://127.0.0.1:99999/"), "url"),
        (dict(GOOD, url="http://127.0.0.1/a b"), "url"),
        (dict(GOOD, url="unix:run/app.sock:/"), "url"),
        (dict(GOOD, url="unix:/run/app.sock:path"), "url"),
        (dict(GOOD, retries=0), "retries"),
        (dict(GOOD, retries="3"), "retries"),
        (dict(GOOD, retries=True), "retries"),
        (dict(GOOD, statuses=[]), "statuses"),
        (dict(GOOD, statuses=200), "statuses"),
        (dict(GOOD, statuses=["200"]), "statuses"),
        (dict(GOOD, expect="("), "expect"),
        (dict(GOOD, delay=-1), "delay"),
        (dict(GOOD, timeout=0), "timeout"),
        (dict(GOOD, insecure="no"), "insecure"),
        (dict(GOOD, host="a.test\r\nX-Evil: 1"), "host"),
        (dict(GOOD, retry=3), "retry"),
        ("not json", "argument"),
        ('{"url": "http://127.0.0.1/", "delay": NaN}', "argument"),
        ([GOOD], "argument"),
        (None, "argument"),
    ],
)
def test_bad_input_fails_naming_the_key(config, key):
    result = run(config)
    assert not result["ok"] and result["attempts"] == 0 and result["status"] is None
    assert result["error"].startswith(f"{key}: "), result["error"]
