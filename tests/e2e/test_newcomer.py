"""The README's first command, as a newcomer runs it: a fresh clone, `./kettle example`, no
arguments, run from another working directory than the clone's. It must publish what the
README promises (2 tasks; the typo-only session disqualified) and write a report that
renders, with every path resolved wherever the command was started from."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.machine.browser import dump_dom, ensure_chromium
from tests.conftest import REPO_ROOT

# A fresh venv (pip install of kettle) and a whole build: longer than the default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _fresh_clone(destination: Path) -> Path:
    clone = destination / "kettle"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True, timeout=300)
    return clone


def test_kettle_example_from_a_fresh_clone_publishes_what_the_readme_says(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    # The command exactly as the README gives it, started from another folder.
    completed = subprocess.run(
        [str(clone / "kettle"), "example"],
        cwd=elsewhere,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=2300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    runs = sorted((clone / "runs").iterdir())
    assert len(runs) == 1, f"expected one run folder under the clone's runs/: {runs}"
    summary = json.loads((runs[0] / "summary.json").read_text())
    states = {c["candidate_id"]: c["state"] for c in summary["candidates"]}
    assert sorted(states.values()) == ["disqualified", "published", "published"], states
    for candidate in summary["candidates"]:
        if candidate["state"] == "published":
            task = Path(candidate["published"])
            assert task.is_absolute() and task.is_relative_to(runs[0] / "tasks")
            assert (task / "task.toml").is_file() and (task / "tests" / "test.sh").is_file()
    assert "candidates 3" in output and "published 2" in output
    dom = dump_dom(ensure_chromium(lambda _message: None), runs[0] / "report.html")
    assert 'id="funnel"' in dom and "published" in dom
    assert "\x1b[" not in (runs[0] / "report.html").read_text()
