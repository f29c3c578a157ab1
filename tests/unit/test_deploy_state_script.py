"""deploy_state.py: one deploy at a time (the lock names its holder), and the marker of a deploy
that moved `current` but never finished its check. Run as the role runs it: python3 -c <file>."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "roles" / "django_app" / "files" / "deploy_state.py").read_text()


def state(*args):
    result = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], capture_output=True, text=True, check=False)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


def test_a_second_deploy_is_refused_naming_the_holder_and_only_the_holder_unlocks(tmp_path):
    first = {"host": "laptop", "user": "alice", "pid": 101, "token": "t1"}
    assert state("lock", tmp_path, json.dumps(first)) == (0, {"held_by": None, "replaced": None})
    code, out = state("lock", tmp_path, json.dumps({"host": "ci", "user": "bob", "pid": 202, "token": "t2"}))
    assert code == 3
    assert {k: out["held_by"][k] for k in ("host", "user", "pid")} == {"host": "laptop", "user": "alice", "pid": 101}
    assert out["held_by"]["since"]
    assert state("unlock", tmp_path, "t2")[1]["released"] is False  # not bob's lock
    assert (tmp_path / ".deploy.lock").exists()
    assert state("unlock", tmp_path, "t1") == (0, {"released": True})
    assert not (tmp_path / ".deploy.lock").exists()
    assert oct((tmp_path).stat().st_mode)  # the directory is untouched


def test_a_dead_holder_s_lock_can_be_taken_over(tmp_path):
    state("lock", tmp_path, json.dumps({"pid": 1, "token": "old"}))
    code, out = state("lock", tmp_path, json.dumps({"pid": 2, "token": "new"}), "break")
    assert code == 0 and out["replaced"]["pid"] == 1
    assert json.loads((tmp_path / ".deploy.lock").read_text())["token"] == "new"


def test_the_lock_is_not_followed_through_a_planted_link(tmp_path):
    target = tmp_path / "elsewhere"
    os.symlink(target, tmp_path / ".deploy.lock")
    code, out = state("lock", tmp_path, json.dumps({"pid": 3, "token": "t"}))
    assert code == 3 and not target.exists()


def test_the_in_progress_marker(tmp_path):
    assert state("read", tmp_path) == (0, {"lock": None, "in_progress": None})
    assert state("mark", tmp_path, "b2", "a1")[0] == 0
    marker = state("read", tmp_path)[1]["in_progress"]
    assert (marker["release"], marker["previous"]) == ("b2", "a1")
    assert oct((tmp_path / ".deploy.in-progress").stat().st_mode & 0o777) == "0o600"
    assert state("clear", tmp_path) == (0, {"cleared": True})
    assert state("read", tmp_path)[1]["in_progress"] is None


def test_the_controller_lookup_names_the_ansible_playbook_process(tmp_path):
    playbook = tmp_path / "who.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.debug": {"msg": "WHO={{ lookup('initech.django.controller') | to_json }}"}}]}]))
    process = subprocess.Popen([str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                               env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                                        ANSIBLE_STRATEGY="linear", ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    out, _ = process.communicate(timeout=120)
    who = json.loads(out.split("WHO=", 1)[1].split("\n", 1)[0].rstrip('"').replace('\\"', '"'))
    assert who["pid"] == process.pid
    assert who["host"] and who["user"]


def test_an_app_already_removed_has_nothing_to_lock(tmp_path):
    gone = tmp_path / "removed-app"
    assert state("lock", gone, json.dumps({"pid": 1, "token": "t"})) == (0, {"held_by": None, "replaced": None,
                                                                          "absent": True})
    assert not gone.exists(), "the lock does not create the app's directory"
