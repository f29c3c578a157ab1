"""The host_state module, run the way a play runs it (ansible's local connection on this machine):
what it reports for files, paths, links, ACLs, accounts, packages and interpreters, and None for
what is missing."""

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def host_state(**params) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-m", "initech.django.host_state", "-a", json.dumps(params)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout[result.stdout.index("{"):])
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_files_paths_links_and_contents(tmp_path):
    data = tmp_path / "app.conf"
    data.write_text("workers = 2\n")
    data.chmod(0o640)
    link = tmp_path / "current"
    link.symlink_to(data)
    missing = tmp_path / "missing"
    state = host_state(files=[str(data), str(missing), str(tmp_path)], paths=[str(tmp_path), str(link), str(missing)],
                       contents=[str(link), str(missing)])
    assert not state["changed"]
    # The checksum Ansible's copy and template modules compare: SHA-1 of the bytes.
    assert state["files"][str(data)]["sha1"] == hashlib.sha1(b"workers = 2\n").hexdigest()
    assert state["files"][str(data)]["mode"] == "0640"
    assert state["files"][str(missing)] is None
    assert state["files"][str(tmp_path)] is None, "a directory is not a file"
    assert state["paths"][str(tmp_path)]["type"] == "directory"
    assert state["paths"][str(link)] == {**state["paths"][str(link)], "type": "link", "target": str(data)}
    assert state["paths"][str(missing)] is None
    assert state["contents"] == {str(link): "workers = 2\n", str(missing): None}


def test_accounts_packages_and_interpreters():
    state = host_state(users=["root", "no-such-user-x"], groups=["root", "no-such-group-x"],
                       packages=["dpkg", "no-such-package-x"], interpreters=[sys.executable, "/nonexistent/python3"])
    assert state["users"]["root"]["uid"] == 0 and state["users"]["root"]["home"] == "/root"
    assert state["users"]["no-such-user-x"] is None
    assert state["groups"] == {"root": 0, "no-such-group-x": None}
    if shutil.which("dpkg-query"):
        assert state["packages"]["dpkg"]
    assert state["packages"]["no-such-package-x"] is None
    assert state["interpreters"] == {sys.executable: platform.python_version(), "/nonexistent/python3": None}


@pytest.mark.skipif(not shutil.which("setfacl"), reason="no setfacl on this machine (the acl package)")
def test_acls_name_their_users_and_skip_the_base_entries(tmp_path):
    subprocess.run(["setfacl", "-m", "u:root:rx", "-d", "-m", "g:root:r", str(tmp_path)], check=True)
    state = host_state(acls=[str(tmp_path), str(tmp_path / "missing")])
    assert state["acls"][str(tmp_path)] == ["default:group:root:r--", "user:root:r-x"]
    assert state["acls"][str(tmp_path / "missing")] is None


def test_contents_are_whole_and_as_written(tmp_path):
    # A lock over 64 KiB, with CRLF line ends: as slurp would give it (the deploy hashes it).
    lock = tmp_path / "requirements.txt"
    text = "".join(f"package-{n}==1.0.{n} \\\r\n    --hash=sha256:{n:064x}\r\n" for n in range(800))
    lock.write_bytes(text.encode())
    assert len(text) > 65536
    assert host_state(contents=[str(lock)])["contents"][str(lock)] == text
