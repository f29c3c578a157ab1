"""The requirements filters: what makes a file a lock, and which direct deps a lock misses."""

from pathlib import Path

import pytest
import requirements as f

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "initech-demo"

FREEZE_OUTPUT = """\
# LOCK FILE: do not edit by hand.
# Django 6 needs Python >= 3.12
Django==5.2.19
django-environ==0.14.0
## The following requirements were added by pip freeze:
asgiref==3.13.0
zope.interface==8.7
"""


def test_freeze_output_is_a_lock():
    assert f.requirements_lock_problems(FREEZE_OUTPUT) == []
    assert f.requirements_pinned(FREEZE_OUTPUT) == {
        "django": "5.2.19",
        "django-environ": "0.14.0",
        "asgiref": "3.13.0",
        "zope-interface": "8.7",
    }


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("Django", "not pinned"),
        ("Django>=5.2", "not pinned"),
        ("Django<6", "not pinned"),
        ("Django==5.*", "not pinned"),
        ("Django~=5.2", "not pinned"),
        ("Django == 5.2.19, != 5.2.18", "not pinned"),
        ("-e git+https://example.com/x.git#egg=x", "editable"),
        ("https://example.com/x-1.0.whl", "url"),
        ("./vendor/x-1.0.tar.gz", "url"),
        ("x @ https://example.com/x-1.0.whl", "not pinned"),
        ("-r requirements.txt", "does not include"),
    ],
)
def test_lines_that_are_not_a_lock_are_named(line, why):
    problems = f.requirements_lock_problems(f"gunicorn==27.0.1\n{line}\n")
    assert len(problems) == 1
    assert problems[0].startswith(f"line 2: {line}")
    assert why in problems[0]


def test_lock_may_carry_options_hashes_markers_and_constraints():
    text = (
        "--index-url https://pypi.example.com/simple\n"
        "-c constraints.txt\n"
        "gevent==26.9.0 ; python_version >= '3.11'\n"
        "greenlet==3.5.6 \\\n"
        "    --hash=sha256:abc \\\n"
        "    --hash=sha256:def\n"
        "psycopg2-binary===2.9.13  # inline comment\n"
        "requests[socks]==2.34.2\n"
    )
    assert f.requirements_lock_problems(text) == []
    assert f.requirements_pinned(text) == {
        "gevent": "26.9.0",
        "greenlet": "3.5.6",
        "psycopg2-binary": "2.9.13",
        "requests": "2.34.2",
    }


def test_parse_reports_line_numbers_of_continued_lines():
    entries = f.requirements_parse("# header\n\nfoo==1 \\\n  --hash=sha256:aa\nbar\n")
    assert [(e["line"], e.get("name"), e.get("pinned")) for e in entries] == [(3, "foo", True), (5, "bar", False)]


def test_hash_inside_a_url_fragment_is_not_a_comment():
    entries = f.requirements_parse("-e git+https://example.com/x.git#egg=x\n")
    assert entries[0]["text"] == "-e git+https://example.com/x.git#egg=x"


def test_dev_file_includes_the_lock():
    entries = f.requirements_parse("-r requirements.txt\n\ndjango-debug-toolbar\n")
    assert entries[0]["kind"] == "include"
    assert entries[0]["path"] == "requirements.txt"
    assert entries[0]["constraint"] is False
    assert entries[1]["name"] == "django-debug-toolbar"


def test_missing_direct_dependencies_are_named_once_with_their_spelling():
    direct = "Django<6\ndjango_environ\nPsycogreen\npsycogreen\n"
    lock = "django==5.2.19\ndjango-environ==0.14.0\n"
    assert f.requirements_missing_direct(lock, direct) == ["Psycogreen"]


def test_canonical_names():
    assert f.canonical_name("Zope.Interface") == f.canonical_name("zope_interface") == "zope-interface"


def test_filters_are_exported_to_ansible():
    exported = f.FilterModule().filters()
    assert exported["requirements_lock_problems"] is f.requirements_lock_problems
    assert set(exported) >= {"requirements_parse", "requirements_missing_direct", "requirements_pinned"}


@pytest.mark.parametrize("project", [ROOT, DEMO], ids=["tooling", "demo-app"])
def test_our_own_locks_are_locks_of_their_direct_dependencies(project):
    lock = (project / "requirements.txt").read_text()
    direct = (project / "requirements_to_freeze.txt").read_text()
    assert lock.startswith("# LOCK FILE: do not edit by hand.")
    assert f.requirements_lock_problems(lock) == []
    assert f.requirements_missing_direct(lock, direct) == []


def test_lines_that_change_where_packages_come_from_are_named_without_credentials():
    text = "\n".join([
        "Django==5.2.19 --hash=sha256:" + "a" * 64,
        "-i https://user:s3cret@evil.example/simple",
        "--extra-index-url=https://mirror.example/simple",
        "--trusted-host mirror.example",
        "-f ./wheels",
        "--pre",
        "-c constraints.txt",
        "-e git+https://example.test/x.git#egg=x",
        "x @ https://example.test/x-1.0.whl",
        "./local-1.0.whl",
        "-r base.txt",
        "requests==2.34.2",
    ])
    problems = f.requirements_source_problems(text)
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(2, 11)]
    assert "s3cret" not in " ".join(problems) and "https://***@evil.example/simple" in problems[0]
    assert f.requirements_source_problems("Django==5.2.19\n-r requirements.txt\n") == []


def test_hashed_locks_are_recognised():
    assert f.requirements_hashed("a==1 --hash=sha256:x\nb==2 \\\n    --hash=sha256:y\n")
    assert not f.requirements_hashed("a==1 --hash=sha256:x\nb==2\n")
    assert not f.requirements_hashed("# nothing\n")
