# Run by the host's python3 (python3 -c "<this file>" JSON): prove the live app answers as users
# reach it, through the web server. Standard library only; never relies on __file__.
#
#   JSON: {"url": "http://127.0.0.1:80/healthz" | "https://127.0.0.1:443/" | "unix:/run/app.sock:/path",
#          "host": "", "statuses": [200], "expect": "", "retries": 1, "delay": 1, "timeout": 10,
#          "insecure": true}   (only url is required; other keys are refused)
#
# GETs the url until a response has an accepted status and its body matches expect, or the tries
# run out. Never follows redirects, ignores proxy variables. host is the Host header and, for https,
# the TLS server name (SNI); the connection always goes to the url's address. Prints one JSON object
# describing the last try (status/reason/location/body of its response, error: its exception) and
# exits 0 when ok, 1 otherwise (bad input too: attempts 0, error names the key).
import http.client
import json
import math
import re
import socket
import ssl
import sys
import time
import urllib.parse
import warnings

USER_AGENT = "initech-django-healthcheck"
ACCEPT = "text/html,application/json;q=0.9,*/*;q=0.8"
BODY_SHOWN = 2000  # characters of the last body in the output
BODY_READ = 1 << 20  # bytes of a body read (and searched by expect) at most
DEFAULTS = {"host": "", "statuses": [200], "expect": "", "retries": 1, "delay": 1.0, "timeout": 10.0,
            "insecure": True}
REQUIRED = ("url",)
UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # whitespace and control characters


class BadInput(Exception):
    pass


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix stream socket (gunicorn's)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class SNIHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the url's address, with the server name given (None: no SNI)."""

    def __init__(self, address, port, timeout, context, server_name):
        super().__init__(address, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        try:
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)
        except BaseException:
            self.sock.close()
            self.sock = None
            raise


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_path(path):
    if not path.startswith("/") or UNSAFE.search(path) or not path.isascii():
        raise BadInput(f"url: the path must start with / and hold no spaces, control or non-ASCII characters "
                       f"(got {path!r})")
    return path


def parse_url(url):
    """The url as a connection target: kind, address, port, socket path, request path, default Host."""
    if not isinstance(url, str) or not url:
        raise BadInput("url: must be a non-empty string")
    if UNSAFE.search(url):
        raise BadInput(f"url: must hold no spaces or control characters (got {url!r})")
    if url.startswith("unix:"):
        sock, _, path = url[len("unix:"):].partition(":")
        if not sock.startswith("/"):
            raise BadInput(f"url: the unix form is unix:/absolute/socket/path:/request/path (got {url!r})")
        return {"kind": "unix", "socket": sock, "path": check_path(path or "/"), "host": "localhost"}
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"url: must be http://ADDRESS[:PORT]/PATH, https://... or unix:SOCKET:/PATH (got {url!r})")
    if parts.username is not None or parts.password is not None:
        raise BadInput("url: credentials in the url are not supported")
    try:
        port = parts.port
    except ValueError as error:
        raise BadInput(f"url: bad port ({error})") from None
    default_port = 443 if scheme == "https" else 80
    address = parts.hostname
    host = f"[{address}]" if ":" in address else address
    if port is not None and port != default_port:
        host = f"{host}:{port}"
    path = check_path((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    return {"kind": scheme, "address": address, "port": port or default_port, "path": path, "host": host}


def parse_input(argv):
    if len(argv) != 1:
        raise BadInput(f"argument: expected exactly one argument, a JSON object (got {len(argv)})")

    def no_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        given = json.loads(argv[0], parse_constant=no_constant)
    except ValueError as error:
        raise BadInput(f"argument: not valid JSON ({error})") from None
    if not isinstance(given, dict):
        raise BadInput("argument: must be a JSON object")
    return given


def validate(given):
    unknown = sorted(set(given) - set(DEFAULTS) - set(REQUIRED))
    if unknown:
        raise BadInput(f"{unknown[0]}: unknown key (known: {', '.join(REQUIRED + tuple(DEFAULTS))})")
    for key in REQUIRED:
        if key not in given:
            raise BadInput(f"{key}: missing (required)")
    config = dict(DEFAULTS, **given)
    config["target"] = parse_url(config["url"])

    host = config["host"]
    if not isinstance(host, str) or UNSAFE.search(host) or not host.isascii():
        raise BadInput(f"host: must be a string without spaces, control or non-ASCII characters (got {host!r})")
    statuses = config["statuses"]
    if (not isinstance(statuses, list) or not statuses
            or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses)):
        raise BadInput(f"statuses: must be a non-empty list of HTTP status codes, integers 100-599 (got {statuses!r})")
    if not isinstance(config["expect"], str):
        raise BadInput(f"expect: must be a string, a regular expression (got {config['expect']!r})")
    try:
        config["pattern"] = re.compile(config["expect"]) if config["expect"] else None
    except re.error as error:
        raise BadInput(f"expect: not a valid regular expression ({error})") from None
    retries = config["retries"]
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 1:
        raise BadInput(f"retries: must be an integer of at least 1 (got {retries!r})")
    if not is_number(config["delay"]) or config["delay"] < 0:
        raise BadInput(f"delay: must be a number of seconds, 0 or more (got {config['delay']!r})")
    if not is_number(config["timeout"]) or config["timeout"] <= 0:
        raise BadInput(f"timeout: must be a number of seconds, more than 0 (got {config['timeout']!r})")
    if not isinstance(config["insecure"], bool):
        raise BadInput(f"insecure: must be true or false (got {config['insecure']!r})")
    return config


def server_name(host):
    """The TLS server name of a Host header value: without its port or IPv6 brackets; None if empty."""
    if not host:
        return None
    if host.startswith("["):
        return host[1:].partition("]")[0] or None
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host


def tls_context(insecure):
    if insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()


def connection(config):
    target = config["target"]
    timeout = float(config["timeout"])
    if target["kind"] == "unix":
        return UnixHTTPConnection(target["socket"], timeout)
    if target["kind"] == "http":
        return http.client.HTTPConnection(target["address"], target["port"], timeout=timeout)
    # No Host given: no SNI (Python never sends one for an address); verification, when asked
    # for, is then against the url's address.
    name = server_name(config["host"]) or (None if config["insecure"] else target["address"])
    return SNIHTTPSConnection(target["address"], target["port"], timeout, tls_context(config["insecure"]), name)


def attempt(config):
    """One GET within the timeout: (status, reason, location, body bytes)."""
    deadline = time.monotonic() + float(config["timeout"])

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {config['timeout']} s")
        return left

    conn = connection(config)
    try:
        conn.connect()
        sock = conn.sock  # kept: the connection lets go of it once a response says it will close
        sock.settimeout(remaining())
        headers = {"Host": config["host"] or config["target"]["host"], "User-Agent": USER_AGENT,
                   "Accept": ACCEPT, "Accept-Encoding": "identity"}
        conn.request("GET", config["target"]["path"], headers=headers)
        sock.settimeout(remaining())
        response = conn.getresponse()
        body = b""
        while not response.isclosed() and len(body) < BODY_READ:
            if sock.fileno() != -1:
                sock.settimeout(remaining())
            chunk = response.read(min(65536, BODY_READ - len(body)))
            if not chunk:
                break
            body += chunk
        return response.status, response.reason, response.getheader("Location"), body
    finally:
        conn.close()


def check(config, result):
    pattern = config["pattern"]
    for number in range(1, config["retries"] + 1):
        if number > 1:
            time.sleep(config["delay"])
        result.update(attempts=number, status=None, reason=None, error=None, location=None, body=None)
        try:
            status, reason, location, body = attempt(config)
        except Exception as error:  # connection, timeout, TLS, protocol: a failed try
            result["error"] = f"{type(error).__name__}: {error}"
            continue
        text = body.decode("utf-8", errors="replace")
        result.update(status=status, reason=reason, location=location, body=text[:BODY_SHOWN])
        if status in config["statuses"] and (pattern is None or pattern.search(text)):
            result["ok"] = True
            return


def main(argv):
    start = time.monotonic()
    result = {"ok": False, "attempts": 0, "status": None, "reason": None, "error": None, "location": None,
              "body": None, "elapsed": 0.0, "url": None, "host": ""}
    try:
        given = parse_input(argv)
        result["url"] = given.get("url")
        result["host"] = given.get("host", "")
        check(validate(given), result)
    except BadInput as error:
        result["error"] = str(error)
    except Exception as error:  # never anything but the JSON object
        result["error"] = f"internal error: {type(error).__name__}: {error}"
    result["elapsed"] = round(time.monotonic() - start, 3)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    sys.exit(main(sys.argv[1:]))
