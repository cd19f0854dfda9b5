"""Outcome tests written from the user's words (public API only: dotenv_values, load_dotenv, get_key)."""

import io
import os

import pytest

from dotenv import dotenv_values, get_key, load_dotenv


def values(text):
    return dotenv_values(stream=io.StringIO(text))


def test_placeholder_with_comment_is_empty():
    assert values("SENTRY_DSN= # only set in production\n") == {"SENTRY_DSN": ""}


def test_same_as_bare_assignment():
    assert values("SENTRY_DSN= # only set in production\n") == values("SENTRY_DSN=\n")


@pytest.mark.parametrize("spacing", [" ", "   ", "\t", " \t "])
def test_any_whitespace_before_hash(spacing):
    assert values(f"SENTRY_DSN={spacing}# only set in production\n") == {"SENTRY_DSN": ""}


def test_from_a_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SENTRY_DSN= # only set in production\nDEBUG=1\n")
    assert dotenv_values(env) == {"SENTRY_DSN": "", "DEBUG": "1"}
    assert get_key(env, "SENTRY_DSN") == ""


def test_load_dotenv_sets_empty_string(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    env = tmp_path / ".env"
    env.write_text("SENTRY_DSN= # only set in production\n")
    load_dotenv(env)
    assert os.environ["SENTRY_DSN"] == ""


def test_next_line_read_normally():
    text = "SENTRY_DSN= # only set in production\nTIMEOUT=30\nNAME=app\n"
    assert values(text) == {"SENTRY_DSN": "", "TIMEOUT": "30", "NAME": "app"}


def test_next_line_read_normally_after_tab():
    text = "SENTRY_DSN=\t# only set in production\nTIMEOUT=30\n"
    assert values(text) == {"SENTRY_DSN": "", "TIMEOUT": "30"}


def test_hash_right_after_equals_is_the_value():
    assert values("COLOR=#ff0000\n") == {"COLOR": "#ff0000"}


def test_value_before_comment_kept():
    assert values("TIMEOUT= 30 # seconds\n") == {"TIMEOUT": "30"}


def test_quoted_value_before_comment_kept():
    assert values('GREETING= "hello world" # shown on login\n') == {"GREETING": "hello world"}


def test_mixed_file():
    text = (
        "SENTRY_DSN= # only set in production\n"
        "COLOR=#ff0000\n"
        "TIMEOUT= 30 # seconds\n"
        'GREETING= "hello world" # shown on login\n'
        "EMPTY=\n"
    )
    assert values(text) == {
        "SENTRY_DSN": "",
        "COLOR": "#ff0000",
        "TIMEOUT": "30",
        "GREETING": "hello world",
        "EMPTY": "",
    }
