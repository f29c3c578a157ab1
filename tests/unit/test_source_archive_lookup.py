"""The source_archive lookup: a content-addressed, reproducible archive of an app's code."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from hypothesis import given, settings
from hypothesis import strategies as st

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
    copy = tmp_path / "elsewhere" / "myapp"
    shutil.copytree(app, copy)
    a = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(tmp_path / "c1"))
    b = lookup.source_archive(str(copy), EXCLUDE, cache_dir=str(tmp_path / "c2"))
    assert a["digest"] == b["digest"]
    assert Path(a["archive"]).read_bytes() == Path(b["archive"]).read_bytes()
    assert os.path.basename(a["archive"]) == f"myapp-{a['digest'][:12]}.tar.gz"


def test_missing_or_empty_source_is_a_clear_error(tmp_path):
    with pytest.raises(AnsibleLookupError, match="is not a directory on the controller"):
        lookup.source_archive(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnsibleLookupError, match="no files left"):
        lookup.source_archive(str(tmp_path / "empty"))


# --- Exclusion semantics (gitignore-like) ---------------------------------------------------------

# What the django_app role ships as django_app_src_exclude.
DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", "__pycache__", "*.py[co]", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".tox", ".nox", ".coverage", "htmlcov", "node_modules", ".venv*", ".env*", "!.env.template",
    "*.key", "*.pem", ".DS_Store", "/staticfiles", "/media", "/db.sqlite3",
]  # fmt: skip

DJANGO_TREE = {
    # packed
    "manage.py": "import django\n",
    "requirements.txt": "Django==5.1\n",
    ".env.template": "SECRET_KEY=\n",
    "myproject/__init__.py": "",
    "myproject/settings.py": "STATIC_ROOT = BASE_DIR / 'staticfiles'\n",
    "myproject/static/css/site.css": "body{}\n",
    "myproject/templates/base.html": "<html></html>\n",
    "home/__init__.py": "",
    "home/models.py": "from django.db import models\n",
    "home/migrations/0001_initial.py": "# generated\n",
    "home/static/home/logo.svg": "<svg/>\n",
    "home/media/placeholder.png": "png",
    "home/templates/home/db.sqlite3.html": "not a database\n",
    "docs/staticfiles.md": "about static files\n",
    # left out
    ".git/HEAD": "ref: refs/heads/main\n",
    ".env": "SECRET_KEY=prod\n",
    ".env.local": "DEBUG=1\n",
    ".venv/bin/python": "#!\n",
    ".venv-3.12/pyvenv.cfg": "home = /usr\n",
    "home/__pycache__/models.cpython-311.pyc": "\0",
    "home/legacy.pyc": "\0",
    "myproject/static/.DS_Store": "\0",
    "node_modules/left-pad/index.js": "module.exports = 1\n",
    "staticfiles/staticfiles.json": "{}\n",
    "staticfiles/css/site.0123abcd.css": "body{}\n",
    "media/uploads/cat.jpg": "jpg",
    "db.sqlite3": "SQLite format 3\0",
    "certs/dev.key": "-----BEGIN PRIVATE KEY-----\n",
    "certs/dev.pem": "-----BEGIN CERTIFICATE-----\n",
    ".coverage": "",
    "htmlcov/index.html": "",
    ".pytest_cache/README.md": "",
    ".mypy_cache/3.11/x.json": "",
    ".ruff_cache/x": "",
    ".tox/py311/x": "",
}
DJANGO_PACKED = sorted(list(DJANGO_TREE)[: list(DJANGO_TREE).index(".git/HEAD")])


def make_tree(root, files):
    """Create files ({relative path: text}) under root; return root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def packed(root, exclude):
    return lookup.list_files(str(root), exclude)


def test_default_list_keeps_the_apps_static_dirs_and_drops_secrets_and_build_output(tmp_path):
    root = make_tree(tmp_path / "myproject", DJANGO_TREE)
    assert packed(root, DEFAULT_EXCLUDE) == DJANGO_PACKED
    assert "myproject/static/css/site.css" in DJANGO_PACKED and "home/static/home/logo.svg" in DJANGO_PACKED


def test_a_name_pattern_matches_at_any_depth_and_a_slash_anchors_it(tmp_path):
    root = make_tree(
        tmp_path / "app",
        {"media/a.jpg": "", "home/media/b.png": "", "docs/build/x.html": "", "pkg/docs/build/y.html": ""},
    )
    assert packed(root, ["media"]) == ["docs/build/x.html", "pkg/docs/build/y.html"]
    assert packed(root, ["/media"]) == ["docs/build/x.html", "home/media/b.png", "pkg/docs/build/y.html"]
    assert packed(root, ["docs/build"]) == ["home/media/b.png", "media/a.jpg", "pkg/docs/build/y.html"]
    assert packed(root, ["/docs/build"]) == packed(root, ["docs/build"])
    assert packed(root, ["build"]) == ["home/media/b.png", "media/a.jpg"]


def test_wildcards_in_a_path_pattern_stay_within_one_component(tmp_path):
    root = make_tree(tmp_path / "app", {"conf/a.local.py": "", "conf/sub/b.local.py": "", "conf/c.py": ""})
    assert packed(root, ["conf/*.local.py"]) == ["conf/c.py", "conf/sub/b.local.py"]
    assert packed(root, ["conf/*"]) == []
    assert packed(root, ["*.local.py"]) == ["conf/c.py"]


def test_matching_is_case_sensitive(tmp_path):
    root = make_tree(tmp_path / "app", {"README": "", "readme": "", "Media/x": ""})
    assert packed(root, ["README", "/media"]) == ["Media/x", "readme"]


def test_the_last_matching_pattern_wins(tmp_path):
    root = make_tree(tmp_path / "app", {".env": "", ".env.local": "", ".env.template": "", "a.py": ""})
    assert packed(root, [".env*", "!.env.template"]) == [".env.template", "a.py"]
    assert packed(root, ["!.env.template", ".env*"]) == ["a.py"], "a re-include before the exclusion does nothing"
    assert packed(root, [".env*", "!.env.template", ".env.t*"]) == ["a.py"]
    assert packed(root, ["!a.py"]) == [".env", ".env.local", ".env.template", "a.py"]


def test_a_file_cannot_be_reincluded_under_an_excluded_directory(tmp_path):
    root = make_tree(tmp_path / "app", {"media/README": "", "media/cat.jpg": "", "app.py": ""})
    assert packed(root, ["/media", "!media/README"]) == ["app.py"]
    assert packed(root, ["/media", "!README"]) == ["app.py"]
    assert packed(root, ["/media/*", "!/media/README"]) == ["app.py", "media/README"]


def test_a_trailing_slash_matches_directories_only_at_any_depth(tmp_path):
    root = make_tree(tmp_path / "app", {"build": "a file", "pkg/build/x": "", "pkg/y": ""})
    assert packed(root, ["build/"]) == ["build", "pkg/y"]
    assert packed(root, ["build"]) == ["pkg/y"]


def test_a_leading_bang_can_be_escaped(tmp_path):
    root = make_tree(tmp_path / "app", {"!important": "", "b": ""})
    assert packed(root, ["\\!important"]) == ["b"]
    assert packed(root, ["*", "!\\!important"]) == ["!important"]


def test_a_backslash_makes_any_character_literal_as_in_gitignore(tmp_path):
    root = make_tree(tmp_path / "app", {"!n": "", "*": "", "ab": "", "d/!n": ""})
    assert packed(root, ["/\\!n"]) == ["*", "ab", "d/!n"]  # anchored, found by hypothesis against git
    assert packed(root, ["\\*"]) == ["!n", "ab", "d/!n"]  # a real *, not a wildcard
    with pytest.raises(AnsibleLookupError, match="lone backslash"):
        packed(root, ["ab\\"])


@pytest.mark.parametrize("pattern", ["", "!", "/", "!/", "//", "a//b", "**/a", "a/**"])
def test_patterns_that_cannot_mean_anything_are_refused(tmp_path, pattern):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a").write_text("")
    with pytest.raises(AnsibleLookupError, match="exclude pattern"):
        packed(tmp_path / "app", [pattern])


def test_the_docs_example_keeps_one_built_page(tmp_path):
    root = make_tree(tmp_path / "app", {"docs/_build/index.html": "", "docs/_build/x.html": "", "docs/index.rst": ""})
    assert packed(root, ["/docs/_build/*", "!/docs/_build/index.html"]) == ["docs/_build/index.html", "docs/index.rst"]


# Random trees and patterns, checked against git itself (`git ls-files --others --exclude-from`),
# whose .gitignore rules these are, within what the lookup supports (no `**`).
NAMES = st.sampled_from(["a", "b", "ab", "Ab", ".env", ".env.x", "x.pyc", "x.pyo", "static", "!n"])
GLOBS = st.one_of(NAMES, st.sampled_from(["*", "?", "a*", "*b", "[ab]", "[!a]*", ".env*", "*.py[co]"]))
TREES = st.recursive(st.none(), lambda kids: st.dictionaries(NAMES, kids, max_size=3), max_leaves=12)


@st.composite
def patterns(draw):
    parts = draw(st.lists(GLOBS, min_size=1, max_size=3))
    body = "/".join(parts)
    if body.startswith("!"):
        body = "\\" + body
    return (
        draw(st.sampled_from(["", "!"]))
        + draw(st.sampled_from(["", "/"]))
        + body
        + draw(st.sampled_from(["", "", "/"]))
    )


def write_tree(root, tree, reverse=False):
    root.mkdir(parents=True, exist_ok=True)
    for name, sub in sorted(tree.items(), reverse=reverse):
        if sub is None:
            (root / name).write_text(name)
        else:
            write_tree(root / name, sub, reverse)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@settings(max_examples=150, deadline=None)
@given(tree=TREES.filter(lambda t: isinstance(t, dict)), exclude=st.lists(patterns(), max_size=5))
def test_exclusions_agree_with_gitignore(tree, exclude):
    with tempfile.TemporaryDirectory() as tmp:
        root, repo = Path(tmp) / "tree", Path(tmp) / "repo"
        write_tree(root, tree)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (Path(tmp) / "ignore").write_text("".join(p + "\n" for p in exclude))
        listing = subprocess.run(
            ["git", f"--git-dir={repo}/.git", f"--work-tree={root}", "ls-files", "-z", "--others",
             f"--exclude-from={tmp}/ignore"],
            cwd=root, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        assert packed(root, exclude) == sorted(filter(None, listing.split("\0")))


@settings(max_examples=100, deadline=None)
@given(tree=TREES.filter(lambda t: isinstance(t, dict)), exclude=st.lists(patterns(), max_size=5))
def test_a_file_is_packed_unless_it_or_a_parent_directory_is_excluded(tree, exclude):
    def all_files(sub, prefix=""):
        for name, kid in sub.items():
            yield from ([prefix + name] if kid is None else all_files(kid, prefix + name + "/"))

    parsed = lookup.parse_patterns(exclude)

    def left_out(rel):
        parts = rel.split("/")
        dirs = ["/".join(parts[:i]) for i in range(1, len(parts))]
        return lookup.is_excluded(rel, parsed) or any(lookup.is_excluded(d, parsed, is_dir=True) for d in dirs)

    with tempfile.TemporaryDirectory() as tmp:
        write_tree(Path(tmp) / "tree", tree)
        assert packed(Path(tmp) / "tree", exclude) == sorted(f for f in all_files(tree) if not left_out(f))


# --- Symlinks -------------------------------------------------------------------------------------


@pytest.fixture
def linked(tmp_path):
    root = make_tree(
        tmp_path / "app",
        {"myproject/settings/base.py": "A = 1\n", "myproject/settings/prod.py": "A = 2\n", "assets/logo.svg": "<svg/>"},
    )
    (root / "myproject" / "settings" / "current.py").symlink_to("prod.py")
    (root / "myproject" / "static").symlink_to(root / "assets")  # absolute, to a directory
    (root / "logo.svg").symlink_to(root / "myproject" / "static" / "logo.svg")  # through another link
    (root / "alias").symlink_to(".")  # the root itself
    return root


def test_symlinks_inside_the_tree_are_packed_with_relative_targets(linked, tmp_path):
    result = lookup.source_archive(str(linked), DEFAULT_EXCLUDE, cache_dir=str(tmp_path / "cache"))
    assert result["files"] == 3
    assert result["symlinks"] == ["alias", "logo.svg", "myproject/settings/current.py", "myproject/static"]
    with tarfile.open(result["archive"]) as tar:
        members = {m.name: m for m in tar.getmembers()}
        links = {name: m.linkname for name, m in members.items() if m.issym()}
        assert links == {
            "alias": ".",
            "logo.svg": "assets/logo.svg",
            "myproject/settings/current.py": "prod.py",
            "myproject/static": "../assets",
        }
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members.values())
        # The "data" filter refuses absolute links and links leaving the destination. Pythons
        # before 3.11.4 (Debian 12's first 3.11.2) have no filters: the same check by hand.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path / "out", filter="data")
        else:
            for name, target in links.items():
                assert not os.path.isabs(target), name
                assert not os.path.normpath(os.path.join(os.path.dirname(name), target)).startswith(".."), name
            tar.extractall(tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "myproject" / "settings" / "current.py").read_text() == "A = 2\n"
    assert (out / "myproject" / "static" / "logo.svg").read_text() == "<svg/>"
    assert (out / "logo.svg").read_text() == "<svg/>"


def test_symlinked_directories_are_not_followed(linked):
    assert lookup.list_files(str(linked), []) == [
        "assets/logo.svg",
        "myproject/settings/base.py",
        "myproject/settings/prod.py",
    ]


def test_the_digest_follows_link_targets(linked, tmp_path):
    cache = str(tmp_path / "cache")
    first = lookup.source_archive(str(linked), [], cache_dir=cache)["digest"]
    current = linked / "myproject" / "settings" / "current.py"
    current.unlink()
    current.symlink_to(linked / "myproject" / "settings" / "prod.py")  # same target, spelled absolute
    assert lookup.source_archive(str(linked), [], cache_dir=cache)["digest"] == first
    current.unlink()
    current.symlink_to("base.py")
    assert lookup.source_archive(str(linked), [], cache_dir=cache)["digest"] != first
    current.unlink()
    current.write_text("A = 2\n")  # a copy instead of a link is a different tree
    assert lookup.source_archive(str(linked), [], cache_dir=cache)["digest"] != first


def test_links_that_leave_the_tree_or_dangle_are_refused_by_name(linked, tmp_path):
    (tmp_path / "shared.py").write_text("")
    (linked / "myproject" / "shared.py").symlink_to(tmp_path / "shared.py")
    (linked / "up").symlink_to("../shared.py")
    (linked / "myproject" / "gone.py").symlink_to("missing.py")
    (linked / "loop").symlink_to("loop")
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.source_archive(str(linked), [], cache_dir=str(tmp_path / "cache"))
    message = str(caught.value)
    for expected in (
        f"myproject/shared.py -> {tmp_path / 'shared.py'} (outside the tree)",
        "up -> ../shared.py (outside the tree)",
        "myproject/gone.py -> missing.py (dangling)",
        "loop -> loop (dangling)",
        "django_app_src_exclude",
        "replace them with regular files",
    ):
        assert expected in message
    assert "current.py" not in message and not (tmp_path / "cache").exists()


def test_a_link_to_an_excluded_path_is_refused(linked, tmp_path):
    make_tree(linked, {".env": "SECRET=1\n"})
    (linked / "settings.env").symlink_to(".env")
    with pytest.raises(AnsibleLookupError, match=r"settings\.env -> \.env \(target excluded or not packed\)"):
        lookup.list_files(str(linked), DEFAULT_EXCLUDE)


def test_excluded_links_are_not_examined(linked, tmp_path):
    (linked / ".venv").symlink_to("/nonexistent/virtualenv")
    (linked / "media").symlink_to(tmp_path)
    (linked / "myproject" / "old.py").symlink_to("nowhere.py")
    result = lookup.source_archive(str(linked), [*DEFAULT_EXCLUDE, "old.py"], cache_dir=str(tmp_path / "cache"))
    assert result["symlinks"] == ["alias", "logo.svg", "myproject/settings/current.py", "myproject/static"]


def test_a_link_as_the_root_is_packed_like_its_target(linked, tmp_path):
    (tmp_path / "current").symlink_to(linked)
    a = lookup.source_archive(str(linked), [], cache_dir=str(tmp_path / "c1"))
    b = lookup.source_archive(str(tmp_path / "current"), [], cache_dir=str(tmp_path / "c2"))
    assert a["digest"] == b["digest"] and a["symlinks"] == b["symlinks"]


# --- Reproducibility and the cache ---------------------------------------------------------------

CONTENTS = st.tuples(st.binary(max_size=64), st.booleans())  # (content, executable)
FLAT_TREES = st.dictionaries(
    st.lists(NAMES.filter(lambda n: n != ".env"), min_size=1, max_size=3).map("/".join),
    CONTENTS,
    min_size=1,
    max_size=8,
).filter(lambda t: not any(a != b and b.startswith(a + "/") for a in t for b in t))


def create(root, tree, links, reverse, mode_bits, when):
    for rel in sorted(tree, reverse=reverse):
        content, executable = tree[rel]
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, mode_bits | (0o111 if executable else 0))
        os.utime(path, (when, when))
    for name, target in links.items():
        (root / name).symlink_to(target)


@settings(max_examples=50, deadline=None)
@given(tree=FLAT_TREES, data=st.data())
def test_two_copies_made_differently_give_the_same_digest_and_bytes(tree, data):
    targets = sorted(tree)
    links = data.draw(st.dictionaries(st.sampled_from(["l1", "l2", "l3"]), st.sampled_from(targets), max_size=3))
    links = {
        name: target
        for name, target in links.items()
        if name not in tree and not any(t.startswith(name + "/") for t in tree)
    }
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "a" / "app", Path(tmp) / "b" / "app"
        create(one, tree, links, reverse=False, mode_bits=0o644, when=1_000_000)
        create(two, tree, {n: str(two / t) for n, t in links.items()}, reverse=True, mode_bits=0o600, when=2_000_000)
        a = lookup.source_archive(str(one), [], cache_dir=f"{tmp}/c1")
        b = lookup.source_archive(str(two), [], cache_dir=f"{tmp}/c2")
        assert a["digest"] == b["digest"] and a["symlinks"] == b["symlinks"] == sorted(links)
        assert Path(a["archive"]).read_bytes() == Path(b["archive"]).read_bytes()
        assert Path(a["archive"]).name == Path(b["archive"]).name == f"app-{a['digest'][:12]}.tar.gz"


def test_the_digest_of_a_tree_without_links_is_unchanged_by_the_symlink_support(app):
    """A tree with only regular files hashes as before: "path\\0<x>\\0<sha256>\\n" per file, sorted."""
    import hashlib

    files = lookup.list_files(str(app), EXCLUDE)
    expected = hashlib.sha256()
    for rel in files:
        content = (app / rel).read_bytes()
        executable = int(os.stat(app / rel).st_mode & 0o111 != 0)
        expected.update(f"{rel}\0{executable}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    assert lookup.digest_of(str(app), files) == expected.hexdigest()


def test_the_archive_is_written_once_per_digest_and_atomically(app, tmp_path):
    cache = tmp_path / "cache"
    first = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(cache))
    before = os.stat(first["archive"])
    again = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(cache))
    assert again == first
    after = os.stat(first["archive"])
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "not rewritten"
    (app / "pkg" / "__init__.py").write_text("VERSION = 2\n")
    second = lookup.source_archive(str(app), EXCLUDE, cache_dir=str(cache))
    assert sorted(p.name for p in cache.iterdir()) == sorted(os.path.basename(r["archive"]) for r in (first, second)), (
        "no temporary files left behind"
    )


def test_a_failed_write_leaves_no_archive(app, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(lookup.tarfile.TarFile, "addfile", broken)
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="disk full"):
        lookup.source_archive(str(app), EXCLUDE, cache_dir=str(cache))
    assert list(cache.iterdir()) == []


# --- Through Ansible ------------------------------------------------------------------------------


ANSIBLE = Path(sys.executable).with_name("ansible")


@pytest.mark.skipif(not ANSIBLE.exists(), reason="needs the ansible CLI next to the test interpreter")
def test_the_lookup_runs_in_ansible_with_its_documented_options(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    root = make_tree(tmp_path / "myproject", DJANGO_TREE)
    (root / "myproject" / "settings_current.py").symlink_to("settings.py")
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo / "ansible.cfg"), ANSIBLE_STRATEGY="linear",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")  # fmt: skip
    env.pop("ANSIBLE_STRATEGY_PLUGINS", None)
    expression = (
        f"lookup('initech.django.source_archive', {str(root)!r}, exclude={DEFAULT_EXCLUDE!r},"
        f" cache_dir={str(tmp_path / 'cache')!r})"
    )
    run = subprocess.run(
        [str(ANSIBLE), "localhost", "-c", "local", "-i", "localhost,",
         "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {expression} }}}}"],
        cwd=repo, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert result == lookup.source_archive(str(root), DEFAULT_EXCLUDE, cache_dir=str(tmp_path / "cache"))
    assert result["files"] == len(DJANGO_PACKED) and result["symlinks"] == ["myproject/settings_current.py"]
