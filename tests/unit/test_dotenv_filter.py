"""The .env filters: every accepted value reads back identically through django-environ."""

import os

import environ
import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings
from hypothesis import strategies as st

import dotenv as f

BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00"


def read_back(tmp_path, mapping):
    """Write with dotenv_render, read back with django-environ, return what it set."""
    path = tmp_path / ".env"
    path.write_text(f.dotenv_render(mapping), encoding="utf-8")
    for key in mapping:
        os.environ.pop(key, None)
    environ.Env.read_env(str(path))
    return {key: os.environ.pop(key) for key in mapping}


HARD_VALUES = {
    "HASH": "pa#ss word",
    "QUOTES": "it's \"quoted\" 'twice'",
    "BACKSLASH": r"C:\path\to\n\t",
    "DOLLAR_INSIDE": "abc$HOME",
    "EQUALS": "a=b=c",
    "SPACES": "  padded  ",
    "UNICODE": "naïve ☃ שלום",
    "TAB": "a\tb",
    "EMPTY": "",
    "SINGLE_QUOTE_ONLY": "'",
    "URL": "postgres://app:p%40ss%3Aw%2Fd%23@db.example.com:5432/app?sslmode=require",
    "EXPORT_LOOKALIKE": "export X=1",
    "TRAILING_DQUOTE": 'ends with "',
}


def test_hard_values_read_back_exactly(tmp_path):
    assert f.dotenv_problems(HARD_VALUES) == []
    assert read_back(tmp_path, HARD_VALUES) == HARD_VALUES


def test_numbers_and_booleans_are_written_as_django_environ_parses_them(tmp_path):
    back = read_back(tmp_path, {"DEBUG": False, "WORKERS": 4, "RATIO": 0.5, "ON": True})
    assert back == {"DEBUG": "false", "WORKERS": "4", "RATIO": "0.5", "ON": "true"}
    assert environ.Env.parse_value(back["DEBUG"], bool) is False


def test_render_is_sorted_single_quoted_lines():
    assert f.dotenv_render({"B": "2", "A": "x y"}) == "A='x y'\nB='2'\n"


@pytest.mark.parametrize("char", list(BREAKS))
def test_line_breaks_are_refused_by_key_not_value(char):
    problems = f.dotenv_problems({"SECRET_KEY": f"top{char}secret"})
    assert len(problems) == 1
    assert problems[0].startswith("SECRET_KEY: the value contains a line break")
    assert "secret" not in problems[0].replace("SECRET_KEY", "")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("$ecret", "starts with '$'"),
        ('"wrapped"', "double quote"),
        (None, "null"),
        (["a", "b"], "list"),
        ({"a": 1}, "mapping"),
    ],
)
def test_values_django_environ_would_change_are_refused(value, why):
    [problem] = f.dotenv_problems({"API_TOKEN": value})
    assert problem.startswith("API_TOKEN: ")
    assert why in problem


@pytest.mark.parametrize("key", ["1ST", "WITH-DASH", "WITH SPACE", "", "Ä"])
def test_bad_names_are_refused(key):
    [problem] = f.dotenv_problems({key: "x"})
    assert "not a valid variable name" in problem


def test_render_refuses_and_names_every_bad_key_without_values():
    with pytest.raises(AnsibleFilterError) as error:
        f.dotenv_render({"GOOD": "ok", "BAD1": "line\nbreak-hunter2", "BAD2": "$hunter2"})
    message = str(error.value)
    assert "BAD1" in message and "BAD2" in message and "GOOD" not in message
    assert "hunter2" not in message


def test_not_a_mapping():
    assert f.dotenv_problems(["A=1"]) == ["the .env variables must be a mapping of names to values, not a list"]


def test_template_keys():
    text = "# comment\nENVIRONMENT=\nexport SECRET_KEY=\n\n  DEBUG=off\nnot a key\nDEBUG=\n#OLD=\n"
    assert f.dotenv_template_keys(text) == ["ENVIRONMENT", "SECRET_KEY", "DEBUG"]


def test_the_demo_template_lists_the_required_keys():
    from pathlib import Path

    template = Path(__file__).resolve().parents[2] / "examples" / "initech-demo" / ".env.template"
    keys = f.dotenv_template_keys(template.read_text())
    assert {"ENVIRONMENT", "SECRET_KEY", "DEBUG", "DATABASE_URL"} <= set(keys)


representable = st.text(
    alphabet=st.characters(blacklist_characters=BREAKS, blacklist_categories=("Cs",)), max_size=40
).filter(lambda v: not v.startswith("$") and not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'))


@settings(max_examples=300, deadline=None)
@given(value=representable)
def test_fuzz_every_accepted_value_reads_back_identically(tmp_path_factory, value):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    assert f.dotenv_problems({"FUZZ": value}) == []
    assert read_back(tmp_path, {"FUZZ": value}) == {"FUZZ": value}
