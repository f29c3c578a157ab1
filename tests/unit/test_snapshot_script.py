"""snapshot.py: save the files a deploy may change, say what each holds (what the roles that
write them compare with, to skip a write that would change nothing), and put them back. Run as
the role runs it: python3 -c <file>."""

import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "roles" / "django_app" / "files" / "snapshot.py").read_text()


def snapshot(*args):
    result = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_save_says_what_each_file_holds_and_restore_puts_back_what_changed(tmp_path):
    dotenv, unit, missing = tmp_path / ".env", tmp_path / "app.service", tmp_path / "app.socket"
    dotenv.write_text("SECRET_KEY=x\n")
    dotenv.chmod(0o640)
    unit.write_text("[Service]\n")
    unit.chmod(0o644)
    link = tmp_path / "link.conf"
    link.symlink_to(unit)
    saved = snapshot("save", tmp_path / "snap", dotenv, unit, missing, link)
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    assert saved["saved"] == [str(dotenv), str(unit)]
    assert saved["files"] == {
        str(dotenv): {"sha1": hashlib.sha1(b"SECRET_KEY=x\n").hexdigest(), "owner": me, "group": group, "mode": "0640"},
        str(unit): {"sha1": hashlib.sha1(b"[Service]\n").hexdigest(), "owner": me, "group": group, "mode": "0644"},
        str(missing): None,
        str(link): None,  # never through a link
    }
    assert oct((tmp_path / "snap").stat().st_mode & 0o777) == "0o700"

    dotenv.write_text("SECRET_KEY=y\n")
    missing.write_text("new\n")
    assert sorted(snapshot("restore", tmp_path / "snap")) == sorted([str(dotenv), str(missing)])
    assert dotenv.read_text() == "SECRET_KEY=x\n" and oct(dotenv.stat().st_mode & 0o777) == "0o640"
    assert not missing.exists() and unit.read_text() == "[Service]\n"
    assert not (tmp_path / "snap").exists()
    assert snapshot("restore", tmp_path / "snap") == []
