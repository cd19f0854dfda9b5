"""The packages form layers (harness -> tools -> agents -> meta_bench; prompts below all):
nothing imports a layer above its own except the thin command entry points. The contract
is import-linter's, configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGES = ("harness", "tools", "agents", "meta_bench", "prompts")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy_of_the_tree(destination: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            REPO_ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


def test_no_module_imports_a_layer_above_its_own() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_planted_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy_of_the_tree(tmp_path)
    planted = tree / "tools" / "repos" / "git.py"
    planted.write_text(
        planted.read_text() + "\nfrom agents.context import StageContext  # planted\n"
    )
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "tools.repos.git -> agents.context" in result.stdout


def test_the_entry_points_are_the_only_exceptions() -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    ignored = text.split("ignore_imports = [", 1)[1].split("]", 1)[0]
    sources = {
        line.strip().strip('",').split(" -> ")[0] for line in ignored.splitlines() if "->" in line
    }
    assert sources <= {f"harness.{name}" for name in ("build", "run", "approve", "gc", "setup")}
