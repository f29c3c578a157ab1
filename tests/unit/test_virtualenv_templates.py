"""The virtualenv role's installer configs: uv.toml is TOML that says what pip.conf says."""

import configparser
import json
import tomllib
from pathlib import Path

import jinja2
import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "roles" / "virtualenv" / "templates"


def render(name, **values):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    env.filters["to_json"] = json.dumps
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in text.splitlines())
    defaults = {"ansible_managed": "Ansible managed", "virtualenv_pip_index_url": "",
                "virtualenv_pip_extra_index_urls": [], "virtualenv_pip_trusted_hosts": [],
                "virtualenv_pip_ca_bundle_src": "", "__virtualenv_ca_bundle": "/srv/app/venvs/k/pip-ca-bundle.pem",
                "__virtualenv_host_pip": {}}
    return env.get_template(name).render({**defaults, **values})


@pytest.mark.parametrize("values", [
    {},
    {"virtualenv_pip_index_url": 'https://user:p"a\\ss#word@pypi.example.test/simple'},
    {"virtualenv_pip_index_url": "https://pypi.example.test/simple",
     "virtualenv_pip_extra_index_urls": ["https://a.example.test/simple", "https://b.example.test/simple"],
     "virtualenv_pip_trusted_hosts": ["a.example.test", "b.example.test:8080"]},
])
def test_uv_toml_holds_the_indexes_pip_conf_holds(values):
    uv = tomllib.loads(render("uv.toml.j2", **values))
    pip = configparser.ConfigParser(interpolation=None)
    pip.read_string(render("pip.conf.j2", **values))
    pip = pip["global"]
    assert uv.get("index-url") == (pip.get("index-url") if "index-url" in pip else None)
    assert uv.get("index-url", "") == values.get("virtualenv_pip_index_url", "")
    assert uv.get("extra-index-url", []) == pip.get("extra-index-url", "").split()
    assert uv.get("allow-insecure-host", []) == pip.get("trusted-host", "").split()
    assert set(uv) <= {"index-url", "extra-index-url", "allow-insecure-host"}


def test_uv_toml_takes_the_hosts_pip_settings_under_the_roles():
    host = {"index-url": "https://mirror.example.test/simple", "extra-index-url": ["https://x.example.test/simple"],
            "trusted-host": ["mirror.example.test"], "cert": "/etc/ssl/certs/corp.pem"}
    uv = tomllib.loads(render("uv.toml.j2", __virtualenv_host_pip=host))
    assert uv == {"index-url": "https://mirror.example.test/simple",
                  "extra-index-url": ["https://x.example.test/simple"], "allow-insecure-host": ["mirror.example.test"]}
    ours = tomllib.loads(render("uv.toml.j2", __virtualenv_host_pip=host,
                                virtualenv_pip_index_url="https://private.example.test/simple"))
    assert ours["index-url"] == "https://private.example.test/simple"
