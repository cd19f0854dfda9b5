"""Outcome tests written from the user's words: the `titlecase` command (titlecase.cmd, the
console-script entry point) run in a subprocess, with and without --preserve-blank-lines."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEADINGS = (
    "\n"
    "\n"
    "release notes for version two\n"
    "\n"
    "\n"
    "new features in the editor\n"
    "support for dark mode\n"
    "\n"
    "\n"
    "\n"
    "\n"
    "bug fixes\n"
    "\n"
)
PRESERVED = (
    "\n"
    "\n"
    "Release Notes for Version Two\n"
    "\n"
    "\n"
    "New Features in the Editor\n"
    "Support for Dark Mode\n"
    "\n"
    "\n"
    "\n"
    "\n"
    "Bug Fixes\n"
    "\n"
)
# What the command prints today without the option (must not change).
DEFAULT = (
    "\n"
    "Release Notes for Version Two\n"
    "New Features in the Editor\n"
    "Support for Dark Mode\n"
    "Bug Fixes\n"
)


def run_cmd(args, tmp_path, stdin=None):
    env = dict(os.environ)
    env["HOME"] = str(tmp_path)  # no personal ~/.titlecase.txt wordlist
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    code = "import sys; from titlecase import cmd; sys.exit(cmd())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.fixture
def headings(tmp_path):
    path = tmp_path / "headings.txt"
    path.write_text(HEADINGS)
    return path


def test_file_with_option_keeps_blank_lines(tmp_path, headings):
    out = tmp_path / "headings_fixed.txt"
    result = run_cmd(["--preserve-blank-lines", "-f", str(headings), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == PRESERVED


def test_option_after_files(tmp_path, headings):
    out = tmp_path / "headings_fixed.txt"
    result = run_cmd(["-f", str(headings), "-o", str(out), "--preserve-blank-lines"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == PRESERVED


def test_single_blank_line_between_sections(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("first section\n\nsecond section\n")
    out = tmp_path / "out.txt"
    result = run_cmd(["--preserve-blank-lines", "-f", str(src), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "First Section\n\nSecond Section\n"


def test_stdin_with_option_keeps_blank_lines(tmp_path):
    out = tmp_path / "out.txt"
    result = run_cmd(["--preserve-blank-lines", "-o", str(out)], tmp_path, stdin=HEADINGS)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == PRESERVED


def test_stdin_dash_with_option_keeps_blank_lines(tmp_path):
    out = tmp_path / "out.txt"
    result = run_cmd(["--preserve-blank-lines", "-f", "-", "-o", str(out)], tmp_path, stdin=HEADINGS)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == PRESERVED


def test_without_option_output_unchanged(tmp_path, headings):
    out = tmp_path / "headings_fixed.txt"
    result = run_cmd(["-f", str(headings), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == DEFAULT


def test_without_option_stdin_unchanged(tmp_path):
    result = run_cmd([], tmp_path, stdin=HEADINGS)
    assert result.returncode == 0, result.stderr
    assert result.stdout == DEFAULT
