"""git_resolve takes only an exact, single ref; redact_url keeps credentials out of messages."""

import subprocess

import pytest

import git as g
from redact import redact_url

A, B, C = "a" * 40, "b" * 40, "c" * 40


def ls(*pairs):
    return "\n".join(f"{sha}\t{name}" for sha, name in pairs)


def test_a_branch_is_the_exact_branch_not_a_namesake_that_sorts_first():
    out = ls((B, "refs/heads/attacker/main"), (A, "refs/heads/main"))
    assert g.git_resolve(out, "main") == {"commit": A, "ref": "refs/heads/main", "error": ""}


def test_an_annotated_tag_resolves_to_its_commit():
    out = ls((C, "refs/tags/v1"), (A, "refs/tags/v1^{}"))
    assert g.git_resolve(out, "v1")["commit"] == A
    assert g.git_resolve(out, "refs/tags/v1")["commit"] == A
    assert g.git_resolve(ls((A, "refs/tags/v2")), "v2")["commit"] == A  # a lightweight tag


def test_a_name_that_is_both_a_branch_and_a_tag_is_refused():
    result = g.git_resolve(ls((A, "refs/heads/v1"), (B, "refs/tags/v1")), "v1")
    assert result["commit"] == "" and "both refs/heads/v1 and refs/tags/v1" in result["error"]
    assert g.git_resolve(ls((A, "refs/heads/v1"), (B, "refs/tags/v1")), "refs/tags/v1")["commit"] == B


def test_missing_names_and_full_commits():
    assert "no branch or tag named exactly 'nope'" in g.git_resolve(ls((A, "refs/heads/main")), "nope")["error"]
    assert g.git_resolve("", B) == {"commit": B, "ref": B, "error": ""}
    assert g.git_patterns(B) == []
    assert g.git_patterns("main") == ["refs/heads/main", "refs/tags/main", "refs/tags/main^{}"]
    assert g.git_resolve(ls((A, "HEAD")), "HEAD")["commit"] == A


def test_against_a_real_repository(tmp_path):
    def git(*args, cwd=tmp_path / "r"):
        return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, check=True,
                              capture_output=True, text=True).stdout

    (tmp_path / "r").mkdir()
    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "one")
    first = git("rev-parse", "HEAD").strip()
    git("branch", "someone/main")
    git("commit", "-q", "--allow-empty", "-m", "two")
    git("tag", "-a", "v1", "-m", "v1", first)
    second = git("rev-parse", "HEAD").strip()
    for version, expected in (("main", second), ("v1", first), ("refs/heads/someone/main", first)):
        out = git("ls-remote", "--", str(tmp_path / "r"), *g.git_patterns(version), cwd=tmp_path)
        assert g.git_resolve(out, version)["commit"] == expected, version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:tok3n@git.example.com/x.git", "https://***@git.example.com/x.git"),
        ("failed: ssh://deploy:pw@h:22/r and https://x.example/y", "failed: ssh://***@h:22/r and https://x.example/y"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("-i https://__token__:pypi-AgEI@pypi.example/simple", "-i https://***@pypi.example/simple"),
        (None, ""),
    ],
)
def test_redact_url(text, expected):
    assert redact_url(text) == expected
