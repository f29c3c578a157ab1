"""A team that is not ours, using the collection alone.

    python consumer.py converge    build the collection, make the site, deploy it (molecule converge)

The site lives in molecule's ephemeral directory and holds only what such a team writes:
- collections/: the built tarball installed with exactly the collections galaxy.yml declares
  (taken from the `ansible` package, as Galaxy would resolve them; the package's own copies are
  hidden from every run: ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false);
- mysite/: a project from `django-admin startproject`, changed only as the README's "What your
  app needs" says (so manage.py and wsgi.py still default to a dev settings module);
- ansible.cfg (collections_path only: Ansible's defaults otherwise, no pipelining),
  inventories/prod/{hosts.yml,group_vars/all/{main.yml,vault.yml}}, a vault password file.
The hosts are the scenario's containers, reached over SSH as `deploy` with sudo.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SITE = EPHEMERAL / "site"
APP = SITE / "mysite"
INVENTORY = SITE / "inventories" / "prod"
VAULT_PASSWORD = SITE / ".vault-pass"
LOGS = EPHEMERAL / "logs"
BIN = Path(sys.executable).parent
DJANGO_ADMIN = PROJECT / ".venv-demo" / "bin" / "django-admin"
BUNDLED = Path(__import__("ansible_collections").__path__[0])
HOST_NAME = "mysite.example.test"
WEB, DB = "consumer-web", "consumer-db"

# The app's lock: pip freeze of requirements_to_freeze.txt in a clean venv (the demo's pins).
REQUIREMENTS_TO_FREEZE = """\
Django<6
django-environ
gunicorn[gevent]
psycopg2-binary
psycogreen
"""
LOCK = """\
asgiref==3.13.0
Django==5.2.19
django-environ==0.14.0
gevent==26.9.0
greenlet==3.5.6
gunicorn==27.0.1
packaging==26.4
psycogreen==1.0.2
psycopg2-binary==2.9.13
sqlparse==0.6.1
zope.event==6.2
zope.interface==8.7
"""
# What the team's inventory sets (group_vars), and its vault. Counted in the closing note.
GROUP_VARS = {
    "django_app_name": "mysite",
    "django_app_src": "{{ inventory_dir }}/../../mysite",
    "django_app_environment": "prod",
    "django_app_settings_package": "mysite.settings",
    "django_app_allowed_hosts": [HOST_NAME],
    "django_app_database": {"host": DB},
}
def _secrets() -> dict:
    """The team's secrets: made at random on the first use of a scenario run (as a team makes its
    own), kept beside the site for the tests; the password has the characters URLs must encode."""
    path = EPHEMERAL / "secrets.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "django_app_secret_key": secrets.token_urlsafe(48) + "#$x",
            "django_app_database_password": "p@ss:w/rd#%?& " + secrets.token_urlsafe(12),
        }))
        path.chmod(0o600)
    return json.loads(path.read_text())


SECRETS = _secrets()
TLS_VARS = {
    "nginx_tls_certificate_src": "{{ inventory_dir }}/../../tls/mysite.crt",
    "nginx_tls_key_src": "{{ inventory_dir }}/../../tls/mysite.key",
}


def sh(*cmd, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], **kwargs)


def galaxy_dependencies() -> dict:
    return yaml.safe_load((PROJECT / "galaxy.yml").read_text())["dependencies"] or {}


def install_collection() -> Path:
    """Build the tarball and install it where the site looks, with the declared dependencies."""
    dist = EPHEMERAL / "dist"
    sh(BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", dist, PROJECT, stdout=subprocess.DEVNULL)
    [tarball] = sorted(dist.glob("initech-django-*.tar.gz"))
    collections = SITE / "collections"
    shutil.rmtree(collections, ignore_errors=True)
    for name in galaxy_dependencies():  # what Galaxy would fetch, from the ansible package
        namespace, collection = name.split(".")
        shutil.copytree(BUNDLED / namespace / collection, collections / "ansible_collections" / namespace / collection,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # --offline: resolve the declared dependencies against what is installed, fail if one is missing.
    # From the site's directory: an ansible.cfg of the current directory (this checkout's, which
    # links initech.django into its own collections path) would make galaxy skip it as installed.
    SITE.mkdir(parents=True, exist_ok=True)
    sh(BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarball,
       env=site_env(), cwd=SITE, stdout=subprocess.DEVNULL)
    return tarball


def make_app() -> None:
    """`django-admin startproject mysite`, changed as README's "What your app needs" says."""
    shutil.rmtree(APP, ignore_errors=True)
    APP.mkdir(parents=True)
    sh(DJANGO_ADMIN, "startproject", "mysite", APP)
    (APP / "home").mkdir()
    sh(DJANGO_ADMIN, "startapp", "home", APP / "home")

    # 1. Settings per environment: settings/base.py (the stock file) reads .env with django-environ.
    package = APP / "mysite" / "settings"
    package.mkdir()
    stock = (APP / "mysite" / "settings.py").read_text()
    (APP / "mysite" / "settings.py").unlink()
    base = stock.replace("BASE_DIR = Path(__file__).resolve().parent.parent\n",
                         "BASE_DIR = Path(__file__).resolve().parent.parent.parent\n\n"
                         "import environ\n\nenv = environ.Env()\nenviron.Env.read_env(BASE_DIR / '.env')\n")
    # (Django formats what it generates with black when black is on PATH: quotes may be either.)
    base = re.sub(r"^SECRET_KEY = .*$", "SECRET_KEY = env('SECRET_KEY')", base, flags=re.M)
    base = re.sub(r"^DEBUG = True$", "DEBUG = env.bool('DEBUG', default=False)", base, flags=re.M)
    base = re.sub(r"^ALLOWED_HOSTS = \[\]$", "ALLOWED_HOSTS = env.list('ALLOWED_HOSTS', default=[])", base, flags=re.M)
    base = re.sub(r"^DATABASES = \{.*?^\}$", "DATABASES = {'default': env.db('DATABASE_URL')}", base, flags=re.M | re.S)
    base = re.sub(r"^(\s+)(['\"])django\.contrib\.staticfiles\2,$", r"\g<0>\n\1'home',", base, flags=re.M)
    base += textwrap.dedent("""
        STATICFILES_DIRS = [BASE_DIR / 'static']
        STATIC_ROOT = env('STATIC_ROOT', default=str(BASE_DIR / 'staticfiles'))
        MEDIA_URL = 'media/'
        MEDIA_ROOT = env('MEDIA_ROOT', default=str(BASE_DIR / 'media'))
    """)
    for needed in ("env('SECRET_KEY')", "env.bool('DEBUG'", "env.list('ALLOWED_HOSTS'", "env.db('DATABASE_URL')", "'home',",
                   "parent.parent.parent"):
        assert needed in base, f"the stock settings changed shape: {needed} not applied"
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(base)
    (package / "dev.py").write_text("from .base import *  # noqa\n\nDEBUG = env.bool('DEBUG', default=True)  # noqa\n")
    (package / "prod.py").write_text(textwrap.dedent("""\
        from .base import *  # noqa

        # nginx terminates TLS and says so in X-Forwarded-Proto.
        SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')
        STORAGES = {
            'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},
            'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'},
        }
    """))
    # 2. manage.py and wsgi.py keep Django's setdefault, now pointing at the dev settings.
    for path in (APP / "manage.py", APP / "mysite" / "wsgi.py"):
        text, count = re.subn(r"(['\"])DJANGO_SETTINGS_MODULE\1, (['\"])mysite\.settings\2",
                              r"\1DJANGO_SETTINGS_MODULE\1, \2mysite.settings.dev\2", path.read_text())
        assert count == 1, path
        path.write_text(text)

    # The app itself: a page with static files from an app's static/ and the project's static/.
    (APP / "home" / "static" / "home").mkdir(parents=True)
    (APP / "home" / "static" / "home" / "site.css").write_text("body { color: rebeccapurple; }\n")
    (APP / "static" / "mysite").mkdir(parents=True)
    (APP / "static" / "mysite" / "brand.css").write_text("h1 { font-weight: 900; }\n")
    (APP / "home" / "templates" / "home").mkdir(parents=True)
    (APP / "home" / "templates" / "home" / "index.html").write_text(textwrap.dedent("""\
        {% load static %}<!doctype html>
        <html><head><link rel="stylesheet" href="{% static 'home/site.css' %}">
        <link rel="stylesheet" href="{% static 'mysite/brand.css' %}"></head>
        <body><h1>mysite</h1><p id="settings">{{ settings_module }}</p><p id="debug">{{ debug }}</p></body></html>
    """))
    (APP / "home" / "views.py").write_text(textwrap.dedent("""\
        import os

        from django.conf import settings
        from django.shortcuts import render


        def index(request):
            return render(request, 'home/index.html', {
                'settings_module': os.environ.get('DJANGO_SETTINGS_MODULE'), 'debug': settings.DEBUG})
    """))
    urls = (APP / "mysite" / "urls.py").read_text()
    urls = urls.replace("from django.urls import path", "from django.urls import path\n\nfrom home import views")
    urls = re.sub(r"^(\s+)path\((['\"])admin/\2, admin\.site\.urls\),$", r"\g<0>\n\1path('', views.index),", urls, flags=re.M)
    assert "views.index" in urls
    (APP / "mysite" / "urls.py").write_text(urls)

    # 3. The lock and the direct dependencies, the Initech way.
    (APP / "requirements_to_freeze.txt").write_text(REQUIREMENTS_TO_FREEZE)
    (APP / "requirements.txt").write_text(LOCK)
    # What a developer's checkout also has and no server may get: a local .env, collected files.
    (APP / ".env").write_text("SECRET_KEY=local-dev-only\nDEBUG=on\nDATABASE_URL=sqlite:///db.sqlite3\n")
    (APP / "staticfiles").mkdir()
    (APP / "staticfiles" / "stale.css").write_text("/* a local collectstatic */\n")


def write_site() -> None:
    """ansible.cfg, the inventory with the scenario's SSH hosts, group_vars and the vault."""
    (SITE / "ansible.cfg").write_text("[defaults]\ncollections_path = ./collections\n")
    instances = {i["instance"]: i for i in yaml.safe_load((EPHEMERAL / "instance_config.yml").read_text())}

    def host(name):
        i = instances[name]
        return {"ansible_host": i["address"], "ansible_port": int(i["port"])}

    hosts = {
        "all": {
            "vars": {
                "ansible_user": "deploy",
                "ansible_ssh_private_key_file": instances[WEB]["identity_file"],
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            },
            "children": {"prod": {"children": {"web": {"hosts": {WEB: host(WEB)}}, "db": {"hosts": {DB: host(DB)}}}}},
        }
    }
    INVENTORY.mkdir(parents=True, exist_ok=True)
    (INVENTORY / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    group_vars = INVENTORY / "group_vars" / "all"
    shutil.rmtree(group_vars, ignore_errors=True)
    group_vars.mkdir(parents=True)
    (group_vars / "main.yml").write_text("---\n" + yaml.safe_dump(GROUP_VARS, sort_keys=False))
    VAULT_PASSWORD.write_text("consumer-vault-TEST-ONLY\n")
    VAULT_PASSWORD.chmod(0o600)
    (group_vars / "vault.yml").write_text("---\n" + yaml.safe_dump(SECRETS, sort_keys=False))
    sh(BIN / "ansible-vault", "encrypt", "--vault-password-file", VAULT_PASSWORD, group_vars / "vault.yml",
       env=site_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def turn_tls_on() -> None:
    """A certificate for the site's name, and the two variables that turn HTTPS on."""
    tls = SITE / "tls"
    tls.mkdir(exist_ok=True)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
       "-subj", f"/CN={HOST_NAME}", "-addext", f"subjectAltName=DNS:{HOST_NAME}",
       "-keyout", tls / "mysite.key", "-out", tls / "mysite.crt", capture_output=True)
    (INVENTORY / "group_vars" / "all" / "tls.yml").write_text("---\n" + yaml.safe_dump(TLS_VARS, sort_keys=False))


def site_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(SITE / "ansible.cfg"),
        # Only what the site installed: not the collections bundled with the ansible package.
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


def run_playbook(name: str, *args: str, log: str) -> subprocess.CompletedProcess:
    """ansible-playbook <collection playbook> -i inventories/prod, from the site's directory."""
    cmd = [str(BIN / "ansible-playbook"), name, "-i", "inventories/prod", "--vault-password-file", str(VAULT_PASSWORD),
           *args]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=SITE, env=site_env(), capture_output=True, text=True, timeout=1800, check=False)
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{log}.log").write_text(result.stdout + result.stderr)
    measure(f"consumer {log}: ansible-playbook {name}", seconds=round(time.monotonic() - started, 1),
            rc=result.returncode, recap=recap(result))
    return result


def measure(name, **values):
    """A number the closing notes quote: appended to .molecule-logs/measurements.jsonl."""
    logs = PROJECT / ".molecule-logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "measurements.jsonl", "a") as out:
        out.write(json.dumps({"measure": name, **values}) + "\n")


def recap(result) -> dict:
    """{host: {ok: n, changed: n, ...}} from a run's PLAY RECAP."""
    found = {}
    for line in result.stdout.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def converge() -> int:
    shutil.rmtree(SITE, ignore_errors=True)
    (EPHEMERAL / "secrets.json").unlink(missing_ok=True)
    SECRETS.update(_secrets())
    SITE.mkdir(parents=True)
    install_collection()
    make_app()
    write_site()
    result = run_playbook("initech.django.site", log="converge")
    print(result.stdout[-6000:])
    print(result.stderr[-3000:], file=sys.stderr)
    print(json.dumps({"recap": recap(result)}))
    return result.returncode


if __name__ == "__main__":
    if sys.argv[1:] != ["converge"]:
        raise SystemExit(__doc__)
    sys.exit(converge())
