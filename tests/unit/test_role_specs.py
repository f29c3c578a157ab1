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


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert list(options) == list(defaults), "same variables, same order"
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
        assert options[name].get("description"), name
        assert name.startswith(role + "_"), "public variables carry the role's prefix"


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_are_prefixed(role):
    vars_file = ROOT / "roles" / role / "vars" / "main.yml"
    if vars_file.exists():
        for name in yaml.safe_load(vars_file.read_text()):
            assert name.startswith(f"__{role}_"), name


def test_readme_tables_are_generated_from_the_specs():
    text = (ROOT / "README.md").read_text()
    for role in ROLES:
        assert f"<!-- role-vars:{role} -->" in text, role
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "role-docs"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
