"""ansible-doc documents every filter, lookup, module and role the collection ships.

Filters are registered several per file (each plugins/filter/*.py FilterModule), so each one is
documented by its own plugins/filter/<name>.yml. The pages are read through ansible-doc itself,
the venv's, against this checkout (ansible.cfg puts .collections, which links back here, on the
collections path).
"""

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FILTER_DIR = ROOT / "plugins" / "filter"
LOOKUP_DIR = ROOT / "plugins" / "lookup"
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"
COLLECTION = "initech.django"


def _registered_filters() -> dict:
    """{filter name: (python file, function)} for every FilterModule in plugins/filter."""
    found = {}
    for path in sorted(FILTER_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        # conftest.py puts plugins/filter first on sys.path, as the filters' own unit tests use it.
        module = importlib.import_module(path.stem)
        assert Path(module.__file__).resolve() == path.resolve(), f"{path.stem} imported from {module.__file__}"
        if not hasattr(module, "FilterModule"):
            continue
        for name, function in module.FilterModule().filters().items():
            assert name not in found, f"filter {name} registered by both {found[name][0]} and {path.name}"
            found[name] = (path.name, function)
    return found


FILTERS = _registered_filters()
LOOKUPS = sorted(p.stem for p in LOOKUP_DIR.glob("*.py") if not p.name.startswith("_"))
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


def ansible_doc(plugin_type: str, name: str) -> dict:
    """ansible-doc's JSON for initech.django.<name>: the entry for that plugin or role."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    fqcn = f"{COLLECTION}.{name}"
    result = subprocess.run(
        [str(ANSIBLE_DOC), "-t", plugin_type, "--json", fqcn],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"ansible-doc -t {plugin_type} {fqcn} failed:\n{result.stderr}"
    data = json.loads(result.stdout)
    assert fqcn in data, f"ansible-doc -t {plugin_type} {fqcn} returned {sorted(data)}\n{result.stderr}"
    return data[fqcn]


def test_the_collection_ships_filters_lookups_and_roles():
    assert {"database_url", "dotenv_render", "release_history", "requirements_parse"} <= set(FILTERS)
    assert "source_archive" in LOOKUPS
    assert {"django_app", "dotenv", "gunicorn", "virtualenv"} <= set(ROLES)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_has_a_doc_file(name):
    assert (FILTER_DIR / f"{name}.yml").is_file(), f"plugins/filter/{name}.yml documents {name}"


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filter_doc_renders(name):
    entry = ansible_doc("filter", name)
    doc = entry["doc"]
    assert doc["name"] == name
    assert Path(doc["filename"]).name == f"{name}.yml"
    assert doc.get("short_description")
    assert doc.get("description")
    options = doc.get("options") or {}
    assert "_input" in options, "the filtered value is documented as _input"
    # Every argument after the filtered value is documented under the name Jinja passes it by.
    arguments = list(inspect.signature(FILTERS[name][1]).parameters)[1:]
    assert set(arguments) <= set(options), f"undocumented arguments: {sorted(set(arguments) - set(options))}"
    for option, spec in options.items():
        assert spec.get("description"), f"option {option} has no description"
    assert (entry.get("examples") or "").strip(), "EXAMPLES is empty"
    assert entry.get("return"), "RETURN is empty"
    assert "_value" in entry["return"]


def test_no_doc_without_a_filter():
    orphans = sorted(p.name for p in FILTER_DIR.glob("*.yml") if p.stem not in FILTERS)
    assert not orphans, f"documented but not registered by any FilterModule: {orphans}"


@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_doc_renders(name):
    entry = ansible_doc("lookup", name)
    assert entry["doc"].get("short_description")
    assert (entry.get("examples") or "").strip(), f"plugins/lookup/{name}.py has no EXAMPLES"
    assert entry.get("return"), f"plugins/lookup/{name}.py has no RETURN"


@pytest.mark.parametrize("name", MODULES)
def test_module_doc_renders(name):
    entry = ansible_doc("module", name)
    doc = entry["doc"]
    assert doc.get("short_description")
    assert not _options_without_description(doc.get("options")), f"plugins/modules/{name}.py"
    assert doc.get("attributes", {}).get("check_mode"), f"plugins/modules/{name}.py says nothing of check mode"
    assert (entry.get("examples") or "").strip(), f"plugins/modules/{name}.py has no EXAMPLES"
    assert entry.get("return"), f"plugins/modules/{name}.py has no RETURN"


def _options_without_description(options: dict, prefix: str = "") -> list[str]:
    missing = []
    for option, spec in (options or {}).items():
        if not spec.get("description"):
            missing.append(prefix + option)
        missing += _options_without_description(spec.get("options"), f"{prefix}{option}.")
    return missing


class _SpecLoader(yaml.SafeLoader):
    """Reads the specs' !unsafe defaults as text."""


_SpecLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


@pytest.mark.parametrize("role", ROLES)
def test_role_doc_renders(role):
    entry = ansible_doc("role", role)
    spec = yaml.load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(), Loader=_SpecLoader)
    entry_points = entry["entry_points"]
    assert set(entry_points) == set(spec["argument_specs"]), "ansible-doc shows every entry point of the spec"
    for point, doc in entry_points.items():
        assert doc.get("short_description"), f"entry point {point} has no short_description"
        missing = _options_without_description(doc.get("options"))
        assert not missing, f"entry point {point}: options without a description: {missing}"
