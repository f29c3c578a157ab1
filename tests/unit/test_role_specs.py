"""Every role's meta/argument_specs.yml agrees with its defaults, and README shows them."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").exists())


def test_there_are_roles():
    assert {"virtualenv", "dotenv", "gunicorn", "django_app"} <= set(ROLES)


class _SpecLoader(yaml.SafeLoader):
    """Reads the specs' !unsafe defaults (templates Ansible shows instead of rendering) as text."""


_SpecLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    """The spec has the defaults' variables in order, with the same defaults, except required
    options, which show none (their empty default lets preflight say what to set); main and
    preflight take them all, every other entry point those it uses; each option has a description of its own; a template default is never rendered
    by the argument validation."""
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    text = (ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text()
    spec = yaml.load(text, Loader=_SpecLoader)["argument_specs"]
    options = spec["main"]["options"]
    assert list(options) == list(defaults), "same variables, same order"
    for name, value in defaults.items():
        if options[name].get("required"):
            assert "default" not in options[name], name
            assert value in ("", [], {}), f"{name}: a required option's default is empty"
        else:
            assert options[name].get("default") == value, name
    for name, option in options.items():
        assert option.get("description"), name
        assert name.startswith(role + "_"), "public variables carry the role's prefix"
    descriptions = [" ".join(str(o["description"]).split()) for o in options.values()]
    assert len(set(descriptions)) == len(descriptions), "each option has its own description"
    for entry, body in spec.items():
        assert body.get("short_description"), entry
        if entry in ("main", "preflight"):
            assert body["options"] == options, f"entry point {entry} takes all of the role's options"
        else:
            assert list(body["options"]) == [n for n in options if n in body["options"]], entry
            assert all(body["options"][n] == options[n] for n in body["options"]), entry
    for line in text.splitlines():
        if "{{" in line and line.strip().startswith("default:"):
            assert "default: !unsafe" in line, line


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_are_prefixed(role):
    vars_file = ROOT / "roles" / role / "vars" / "main.yml"
    if vars_file.exists():
        for name in yaml.safe_load(vars_file.read_text()):
            assert name.startswith(f"__{role}_"), name


def test_specs_and_readme_tables_are_generated_from_the_defaults():
    text = (ROOT / "README.md").read_text()
    for role in ROLES:
        assert f"<!-- role-vars:{role} -->" in text, role
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "role-docs"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("role", "entry", "used", "unused"), [
    # Named in the entry point's own tasks.
    ("django_app", "finish", ["django_app_keep_releases", "django_app_prune", "django_app_root"], ["django_app_git_repo"]),
    # Only through the role's vars (__gunicorn_units_ready) and a nested task file.
    ("gunicorn", "run", ["gunicorn_service_enabled", "gunicorn_switch_timeout", "gunicorn_workers"], ["gunicorn_bind_tcp"]),
    # What it writes and whom it notifies; not what only preflight and template check.
    ("dotenv", "configure", ["dotenv_path", "dotenv_vars", "dotenv_notify"], ["dotenv_required_keys"]),
    ("django_app", "live", ["django_app_root"], ["django_app_healthcheck_retries"]),
])
def test_an_entry_point_validates_the_options_it_uses(role, entry, used, unused):
    """Ansible templates every option of an entry point when it is entered: the ones it uses are
    checked, and only those (the full set is checked once, by preflight or main)."""
    spec = yaml.load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(), Loader=_SpecLoader)
    options = spec["argument_specs"][entry]["options"]
    assert set(used) <= set(options), set(used) - set(options)
    assert not set(unused) & set(options)
