"""The execution environment for AWX / Automation Platform: ansible-builder makes its build context
from execution-environment.yml, with the collection and exactly its dependencies, and the
Containerfile checked in (ee/Containerfile) is the one it makes."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_ansible_builder_creates_the_checked_in_containerfile(tmp_path):
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    dist = ROOT / "dist"
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", dist, ROOT],
                   check=True, capture_output=True)
    context = tmp_path / "context"
    result = subprocess.run([BIN / "ansible-builder", "create", "-f", ROOT / "execution-environment.yml",
                             "--context", context, "--output-filename", "Containerfile"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    made = (context / "Containerfile").read_text()
    checked_in = (ROOT / "ee" / "Containerfile").read_text()
    assert checked_in.split("\n", 2)[2] == made, "ee/Containerfile is stale: run make ee"
    tarball = f"initech-django-{galaxy['version']}.tar.gz"
    assert (context / "_build" / "collections" / tarball).is_file()
    assert "COPY _build/collections/ /tmp/initech-collections/" in made
    assert "ansible-galaxy collection install" in made and "introspect" in made
    wanted = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    names = {c["name"] for c in wanted}
    assert f"/tmp/initech-collections/{tarball}" in names
    assert names - {f"/tmp/initech-collections/{tarball}"} == set(galaxy["dependencies"])
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert ee["additional_build_files"][0]["src"] == f"dist/{tarball}"
