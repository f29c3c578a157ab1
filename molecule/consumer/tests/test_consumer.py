"""What a team that is not ours checks after deploying its stock Django project with the
collection alone (see consumer.py): from the db host, over the network, as a visitor would; on
the web host, as an admin would; and again with a second run and with TLS turned on.

The tests share the deployed hosts and run in file order."""

import json
import os
import re
import shutil
import sys
import tarfile

import pytest
import testinfra

import consumer

sys.path.insert(0, str(consumer.PROJECT / "molecule" / "resources"))
import sitetests  # noqa: E402  (the secrets scan the site scenarios share)

_CLIENT = r"""
import http.client, json, socket, ssl, sys
scheme, address, port, path, host = sys.argv[1:6]
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the site's own certificate


class SNI(http.client.HTTPSConnection):
    def connect(self):  # to the address, with the site's name as TLS server name (SNI)
        self.sock = context.wrap_socket(socket.create_connection((self.host, self.port), self.timeout),
                                        server_hostname=host)


conn = (SNI if scheme == "https" else http.client.HTTPConnection)(address, int(port), timeout=30)
conn.request("GET", path, headers={"Host": host})
response = conn.getresponse()
print(json.dumps({"status": response.status, "headers": {k.lower(): v for k, v in response.getheaders()},
                  "body": response.read().decode(errors="replace")}))
"""


@pytest.fixture(scope="module")
def hosts():
    found = testinfra.get_hosts(["ansible://all"], ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    return {h.backend.get_hostname(): h for h in found}


@pytest.fixture(scope="module")
def web(hosts):
    return hosts[consumer.WEB]


@pytest.fixture(scope="module")
def visitor(hosts):
    """The db host, standing in for a visitor's machine: it reaches the web host by name."""
    db = hosts[consumer.DB]

    def get(path, scheme="http", host=consumer.HOST_NAME, answered=True):
        port = "443" if scheme == "https" else "80"
        result = db.run("python3 -c %s %s %s %s %s %s", _CLIENT, scheme, consumer.WEB, port, path, host)
        if not answered:  # the connection closed without an answer (or the TLS handshake was refused)
            assert result.rc != 0, result.stdout
            return result.stderr
        assert result.rc == 0, result.stderr
        return json.loads(result.stdout)

    return get


def test_the_site_holds_the_collection_and_only_its_declared_dependencies():
    installed = sorted(f"{p.parent.name}.{p.name}" for p in (consumer.SITE / "collections" / "ansible_collections").glob("*/*"))
    assert installed == sorted([*consumer.galaxy_dependencies(), "initech.django"])
    [tarball] = (consumer.EPHEMERAL / "dist").glob("initech-django-*.tar.gz")
    with tarfile.open(tarball) as archive:
        tops = {name.split("/")[0] for name in archive.getnames()}
    assert {"roles", "playbooks", "plugins", "meta", "README.md", "docs"} <= tops, tops
    assert not tops & {"molecule", "tests", "examples", "inventories", "group_vars", "bench", "scripts", ".ci"}, tops


def test_the_team_sets_few_variables():
    count = len(consumer.GROUP_VARS) + len(consumer.SECRETS) + len(consumer.TLS_VARS)
    assert count <= 10, count


def test_the_app_serves_its_production_settings_with_debug_off(visitor):
    page = visitor("/")
    assert page["status"] == 200, page["body"][:2000]
    assert '<p id="settings">mysite.settings.prod</p>' in page["body"]
    assert '<p id="debug">False</p>' in page["body"]


def test_an_unknown_page_is_a_plain_404_not_the_debug_page(visitor):
    page = visitor("/no-such-page/")
    assert page["status"] == 404
    assert "URLconf" not in page["body"] and "DEBUG = True" not in page["body"]


def test_a_host_name_outside_allowed_hosts_gets_no_answer(visitor):
    # nginx's default server drops it: the app never sees a foreign Host header.
    assert "RemoteDisconnected" in visitor("/", host="evil.example.test", answered=False)


def test_app_and_project_static_files_are_served_by_nginx(visitor):
    body = visitor("/")["body"]
    links = re.findall(r'href="(/static/[^"]+)"', body)
    # ManifestStaticFilesStorage: names carry the content's hash, so every file was collected.
    assert any(re.match(r"/static/home/site\.[0-9a-f]{12}\.css$", link) for link in links), links
    assert any(re.match(r"/static/mysite/brand\.[0-9a-f]{12}\.css$", link) for link in links), links
    for link in links:
        css = visitor(link)
        assert css["status"] == 200, link
        assert css["headers"]["content-type"] == "text/css", link
        assert "max-age=" in css["headers"].get("cache-control", ""), "nginx's static location, not the app"
    assert "rebeccapurple" in visitor(links[0])["body"] + visitor(links[1])["body"]


def test_stock_manage_py_says_dev_but_the_service_and_env_say_prod(web):
    with web.sudo():
        release = web.check_output("readlink -f /srv/mysite/current")
        assert re.search(r"DJANGO_SETTINGS_MODULE['\"], ['\"]mysite\.settings\.dev['\"]", web.file(f"{release}/manage.py").content_string)
        environment = web.check_output("systemctl show -p Environment --value mysite.service")
        assert "DJANGO_SETTINGS_MODULE=mysite.settings.prod" in environment.split()
        dotenv = web.file("/srv/mysite/shared/.env").content_string
    assert "ENVIRONMENT='mysite.settings.prod'" in dotenv
    assert "DEBUG='false'" in dotenv


def test_the_database_is_postgresql_through_pgbouncer_with_its_options_in_the_url(web):
    with web.sudo():
        dotenv = web.file("/srv/mysite/shared/.env").content_string
    url = re.search(r"^DATABASE_URL='([^']*)'", dotenv, re.M).group(1)
    # As the app's system user (pgbouncer checks it on the socket), to its database's name in pgbouncer.
    assert url.startswith("postgres://mysite@:6432/mysite__mysite_prod?"), url
    assert "disable_server_side_cursors=True" in url and "host=%2Frun%2Fpgbouncer" in url


def test_what_the_developer_had_locally_did_not_ship(web):
    with web.sudo():
        release = web.check_output("readlink -f /srv/mysite/current")
        assert web.file(f"{release}/.env").linked_to == "/srv/mysite/shared/.env"
        assert not web.file(f"{release}/staticfiles/stale.css").exists
        assert "local-dev-only" not in web.file("/srv/mysite/shared/.env").content_string
        assert web.file(f"{release}/home/static/home/site.css").exists
        assert web.file(f"{release}/static/mysite/brand.css").exists


def test_uv_built_the_venv_through_the_hosts_own_pip_configuration(web):
    # The hosts trust the proxy's CA through /etc/pip.conf only (prepare.yml, as a base image
    # would): uv, which does not read it, got the same CA, and installed the lock.
    with web.sudo():
        assert "cert = /etc/ssl/certs/controller-ca-bundle.pem" in web.file("/etc/pip.conf").content_string
        venv = web.check_output("readlink -f /srv/mysite/current/.venv")
        django = web.check_output(f"ls -d {venv}/lib/python3*/site-packages/django-*.dist-info")
        assert web.file(f"{django}/INSTALLER").content_string.strip() == "uv"


def _no_secret_in(text):
    assert sitetests.secrets_in(text, consumer.SECRETS) == []


def test_no_readable_file_holds_a_secret(hosts):
    found = {name: sitetests.secrets_in_readable_files(host, consumer.SECRETS, "mysite", allowed=["/srv/mysite/shared/.env"])
             for name, host in hosts.items()}
    assert all(f["hits"] == [] for f in found.values()), found
    consumer.measure("secrets scan (consumer files)", secret_values=len(consumer.SECRETS),
                     files_scanned=sum(f["scanned"] for f in found.values()), hits=0)


def test_the_first_deploy_printed_no_secret_and_no_temp_dir_warning():
    log = (consumer.LOGS / "converge.log").read_text()
    _no_secret_in(log)
    assert "remote_tmp" not in log and "world readable" not in log, "becoming the app's user warned"


def test_a_second_run_changes_nothing():
    result = consumer.run_playbook("initech.django.site", log="second-run")
    assert result.returncode == 0, result.stdout[-4000:]
    recap = consumer.recap(result)
    assert set(recap) == {consumer.WEB, consumer.DB}
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap.values()), recap
    _no_secret_in(result.stdout + result.stderr)
    assert "remote_tmp" not in result.stdout + result.stderr


def test_a_redeploy_with_tls_on_passes_its_health_check(visitor):
    consumer.turn_tls_on()
    result = consumer.run_playbook("initech.django.site", log="tls")
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"TASK \[initech\.django\.django_app : Check how the app answers /\][^\n]*\nok: \[consumer-web\]",
                     result.stdout), "the deploy checked the app over HTTPS"
    page = visitor("/", scheme="https")
    assert page["status"] == 200 and "mysite.settings.prod" in page["body"]
    assert page["headers"]["strict-transport-security"] == "max-age=31536000", "HSTS is on with TLS by default"
    assert page["headers"]["x-content-type-options"].startswith("nosniff")
    # A TLS handshake for a name the host has no site for is refused.
    assert "SSL" in visitor("/", scheme="https", host="evil.example.test", answered=False)
    redirect = visitor("/", scheme="http")
    assert redirect["status"] == 301 and redirect["headers"]["location"] == f"https://{consumer.HOST_NAME}/"
    _no_secret_in(result.stdout + result.stderr)


def test_verbose_runs_print_no_secret(tmp_path):
    """The stranger's runs at -vvv --diff, the README's way over SSH: a converge, then a deploy of a
    release that changes .env (so a diff would show it), fails its health check and goes back."""
    converge = consumer.run_playbook("initech.django.site", "-vvv", "--diff", log="verbose-converge")
    assert converge.returncode == 0, converge.stdout[-4000:]
    broken = tmp_path / "mysite"
    shutil.copytree(consumer.APP, broken)
    prod = broken / "mysite" / "settings" / "prod.py"
    prod.write_text(prod.read_text() + "\nALLOWED_HOSTS = ['nowhere.invalid']\n")
    failing = consumer.run_playbook(
        "initech.django.deploy", "-vvv", "--diff", "-e",
        json.dumps({"django_app_src": str(broken), "django_app_dotenv": {"EXTRA_SETTING": "x"},
                    "django_app_healthcheck_retries": 2, "django_app_healthcheck_delay": 1}),
        log="verbose-failing-deploy")
    assert failing.returncode != 0 and "is back on release" in failing.stdout, failing.stdout[-4000:]
    output = converge.stdout + converge.stderr + failing.stdout + failing.stderr
    leaks = sitetests.secrets_in(output, consumer.SECRETS)
    assert not leaks, "\n\n".join(leaks)
    consumer.measure("secrets scan (consumer output, -vvv --diff)", secret_values=len(consumer.SECRETS),
                     output_lines=output.count("\n"), hits=0)
