"""The source_archive lookup: a content-addressed, reproducible archive of an app's code."""

import os
import tarfile

import pytest
from ansible.errors import AnsibleLookupError

import source_archive as lookup

EXCLUDE = [".git", ".env", "__pycache__", "*.pyc", "static/*"]


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "myapp"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "static").mkdir()
    (root / "manage.py").write_text("print('hi')\n")
    os.chmod(root / "manage.py", 0o755)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git" / "HEAD").write_text("ref: main\n")
    (root / ".env").write_text("SECRET_KEY='do-not-ship'\n")
    (root / ".env.template").write_text("SECRET_KEY=\n")
    (root / "static" / "app.css").write_text("body{}\n")
    return root


def test_excluded_paths_are_not_packed(app):
    assert lookup.list_files(str(app), EXCLUDE) == [".env.template", "manage.py", "pkg/__init__.py"]


def test_archive_holds_exactly_the_files_with_their_modes(app, tmp_path):
    result = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(tmp_path / "cache"))
    assert result["files"] == 3
    with tarfile.open(result["archive"]) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [".env.template", "manage.py", "pkg/__init__.py"]
        assert members["manage.py"].mode == 0o755
        assert members["pkg/__init__.py"].mode == 0o644
        assert tar.extractfile("manage.py").read() == b"print('hi')\n"


def test_digest_ignores_mtimes_and_excluded_files_but_not_content(app, tmp_path):
    cache = str(tmp_path / "cache")
    first = lookup.source_archive(str(app), EXCLUDE, cache_dir=cache)
    os.utime(app / "manage.py", (1, 1))
    (app / ".env").write_text("SECRET_KEY='changed'\n")
    assert lookup.source_archive(str(app), EXCLUDE, cache_dir=cache)["digest"] == first["digest"]
    (app / "pkg" / "__init__.py").write_text("VERSION = 2\n")
    assert lookup.source_archive(str(app), EXCLUDE, cache_dir=cache)["digest"] != first["digest"]


def test_executable_bit_is_content(app, tmp_path):
    cache = str(tmp_path / "cache")
    first = lookup.source_archive(str(app), EXCLUDE, cache_dir=cache)["digest"]
    os.chmod(app / "manage.py", 0o644)
    assert lookup.source_archive(str(app), EXCLUDE, cache_dir=cache)["digest"] != first


def test_archives_are_byte_identical_across_copies(app, tmp_path):
    import shutil

    copy = tmp_path / "elsewhere" / "myapp"
    shutil.copytree(app, copy)
    a = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(tmp_path / "c1"))
    b = lookup.source_archive(str(copy), EXCLUDE, cache_dir=str(tmp_path / "c2"))
    assert a["digest"] == b["digest"]
    assert open(a["archive"], "rb").read() == open(b["archive"], "rb").read()
    assert os.path.basename(a["archive"]) == f"myapp-{a['digest'][:12]}.tar.gz"


def test_missing_or_empty_source_is_a_clear_error(tmp_path):
    with pytest.raises(AnsibleLookupError, match="is not a directory on the controller"):
        lookup.source_archive(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnsibleLookupError, match="no files left"):
        lookup.source_archive(str(tmp_path / "empty"))
