"""deploy_state.py: one deploy at a time (the lock names its holder), and the marker of a deploy
that moved `current` but never finished its check. Run as the role runs it: python3 -c <file>."""

import grp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "roles" / "django_app" / "files" / "deploy_state.py").read_text()


def state(*args):
    result = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], capture_output=True, text=True, check=False)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


def test_a_second_deploy_is_refused_naming_the_holder_and_only_the_holder_unlocks(tmp_path):
    first = {"host": "laptop", "user": "alice", "pid": 101, "token": "t1"}
    code, out = state("lock", tmp_path, json.dumps(first))
    assert (code, out["held_by"], out["replaced"]) == (0, None, None)
    # Once it holds the lock, what `read` would print next (the run does not read again).
    assert out["live"] == state("read", tmp_path)[1]
    assert out["live"]["lock"]["token"] == "t1"
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
    read = state("read", tmp_path)
    assert read[0] == 0 and (read[1]["lock"], read[1]["in_progress"]) == (None, None)
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


def test_read_returns_everything_a_deploy_reads_first(tmp_path):
    (tmp_path / "releases" / "r1").mkdir(parents=True)
    (tmp_path / "releases" / "r1" / ".release").write_text("")
    (tmp_path / "releases" / "r2").mkdir()  # a deploy that never finished staging: no .release
    (tmp_path / "releases" / "r3").mkdir()  # from before keyed venvs: no .venv, ran from ROOT/venv
    (tmp_path / "releases" / "r3" / ".release").write_text("")
    (tmp_path / "venvs" / "k1" / "bin").mkdir(parents=True)
    (tmp_path / "venvs" / "k1" / "bin" / "python").write_text("")
    os.symlink(str(tmp_path / "venvs" / "k1"), tmp_path / "releases" / "r1" / ".venv")
    os.symlink(str(tmp_path / "venvs" / "gone"), tmp_path / "releases" / "r2" / ".venv")
    os.symlink(str(tmp_path / "releases" / "r1"), tmp_path / "current")
    (tmp_path / "releases.history").write_text("r0\nr1\n")
    code, out = state("read", tmp_path)
    assert code == 0
    assert out == {"lock": None, "in_progress": None, "current": str(tmp_path / "releases" / "r1"),
                   "history": "r0\nr1\n", "releases": {
                       "r1": {"complete": True, "venv": str(tmp_path / "venvs" / "k1"), "python": True},
                       "r2": {"complete": False, "venv": str(tmp_path / "venvs" / "gone"), "python": False},
                       "r3": {"complete": True, "venv": None, "python": False}}}
    empty = tmp_path / "new-app"
    empty.mkdir()
    assert state("read", empty)[1] == {"lock": None, "in_progress": None, "current": None, "history": None, "releases": {}}


@pytest.mark.skipif(os.geteuid() != 0, reason="writes the history as root")
def test_finish_records_prunes_and_clears_in_one_call(tmp_path):
    releases, venvs = tmp_path / "releases", tmp_path / "venvs"
    for release, venv in (("r1", "k1"), ("r2", "k1"), ("r3", "k2"), ("failed", "k3")):
        (releases / release).mkdir(parents=True)
        (venvs / venv).mkdir(parents=True, exist_ok=True)
        os.symlink(str(venvs / venv), releases / release / ".venv")
    (venvs / "k-unused").mkdir()
    (venvs / ".builder").mkdir()  # the builder's home: never a venv to prune
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), releases / "planted")  # a link is not a release directory
    (tmp_path / "releases.history").write_text("r1\n")
    os.chmod(tmp_path / "releases.history", 0o644)
    state("mark", tmp_path, "r3", "r2")
    (tmp_path / ".deploy-snapshot").mkdir()
    (releases / ".r4.tar.gz").write_bytes(b"code a deploy sent, then died before unpacking")
    group = grp.getgrgid(os.getgid()).gr_name
    wanted = {"history": "r1\nr2\nr3\n", "group": group, "keep": ["r2", "r3"], "live_venv": str(venvs / "k2"),
              "snapshot": str(tmp_path / ".deploy-snapshot")}
    code, out = state("finish", tmp_path, json.dumps(wanted))
    assert code == 0
    assert out == {"history_changed": True, "releases_deleted": ["failed", "r1"], "venvs_deleted": [
        str(venvs / "k-unused"), str(venvs / "k3")], "cleared": True}
    history = tmp_path / "releases.history"
    assert history.read_text() == "r1\nr2\nr3\n"
    assert (history.stat().st_uid, history.stat().st_mode & 0o777) == (0, 0o640)
    assert sorted(p.name for p in releases.iterdir()) == ["planted", "r2", "r3"] and outside.is_dir()  # no .r4.tar.gz
    assert sorted(p.name for p in venvs.iterdir()) == [".builder", "k1", "k2"]
    assert not (tmp_path / ".deploy.in-progress").exists() and not (tmp_path / ".deploy-snapshot").exists()
    # With the lock's token: the lock goes too, only the holder's.
    state("lock", tmp_path, json.dumps({"pid": 5, "token": "t5"}))
    assert state("finish", tmp_path, json.dumps({**wanted, "token": "other"}))[1]["released"] is None
    assert (tmp_path / ".deploy.lock").exists()
    assert state("finish", tmp_path, json.dumps({**wanted, "token": "t5"}))[1]["released"] == "t5"
    assert not (tmp_path / ".deploy.lock").exists()
    # Again: nothing to do, nothing said to change.
    assert state("finish", tmp_path, json.dumps(wanted))[1] == {
        "history_changed": False, "releases_deleted": [], "venvs_deleted": [], "cleared": False}
    # keep null: the history is written, nothing pruned.
    (releases / "r9").mkdir()
    out = state("finish", tmp_path, json.dumps({**wanted, "history": "r2\nr3\n", "keep": None}))[1]
    assert out["history_changed"] and out["releases_deleted"] == [] and (releases / "r9").is_dir()
