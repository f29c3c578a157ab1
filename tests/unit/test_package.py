"""The collection as a package: it declares what its content uses, and ships what users need."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["roles", "playbooks"]
# ansible.builtin, and our own plugins and roles.
OWN = {"ansible.builtin", "initech.django"}


def used_collections(dirs) -> dict[str, set[str]]:
    """{collection: {files}} of every FQCN module, lookup, filter or role the YAML in dirs names."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"(?<![\w.])([a-z_]+\.[a-z_]+)\.[a-z_]+(?=\s*:|['\"(]|\s*$|\s*\|)")
    for top in dirs:
        for path in sorted((ROOT / top).rglob("*.yml")):
            for line in path.read_text().splitlines():
                stripped = line.split("#", 1)[0]
                for match in pattern.finditer(stripped):
                    name = match.group(1)
                    if name.split(".")[0] in {"ansible", "community", "initech", "containers", "kubernetes"}:
                        found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def galaxy():
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())


def test_every_collection_the_shipped_content_uses_is_a_declared_dependency():
    used = set(used_collections(SHIPPED)) - OWN
    declared = set(galaxy()["dependencies"])
    assert used == declared, f"used but not declared: {used - declared}; declared but unused: {declared - used}"


def test_requirements_yml_lists_exactly_the_dependencies():
    listed = {c["name"]: c.get("version") for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    assert listed == galaxy()["dependencies"]


def test_the_tests_collections_are_listed_apart():
    used = set(used_collections(["molecule", "examples", "bench"])) - OWN - set(galaxy()["dependencies"])
    listed = {c["name"] for c in yaml.safe_load((ROOT / "requirements-tests.yml").read_text())["collections"]}
    assert used == listed


def test_the_collection_ships_its_playbooks_and_docs_and_not_the_site_around_it():
    ignored = set(galaxy()["build_ignore"])
    for shipped in ("roles", "playbooks", "plugins", "docs", "meta", "README.md", "galaxy.yml"):
        assert shipped not in ignored
    for site in ("inventories", "group_vars", "site.yml", "molecule", "tests", "examples", "bench", "scripts"):
        assert site in ignored
    for name in ("site", "preflight", "db", "web", "deploy", "rollback"):
        assert (ROOT / "playbooks" / f"{name}.yml").is_file(), name


def test_every_role_and_plugin_has_a_changelog_fragment():
    fragments = " ".join(p.read_text() for p in (ROOT / "changelogs" / "fragments").glob("*.yml"))
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()):
        assert f"{role} role" in fragments, role
    for plugin in sorted(p.stem for p in (ROOT / "plugins").rglob("*.py")):
        assert plugin in fragments, plugin
