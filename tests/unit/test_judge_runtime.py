"""The baseline verifier's judge tells tampering from a legitimate dependency change.

The judge reads only files, so these tests give it a site-packages and a project laid out
as pip leaves them (dist-info folders with METADATA and a hashed RECORD), record the
runtime as the build would, change it as a solution or a cheat would, and run the judge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from agents.verifier import judge

HELPER_V1 = "def shout(text):\n    return text.upper()\n"
HELPER_V2 = "def shout(text, mark='!'):\n    return text.upper() + mark\n"


def install(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    """A distribution as pip installs it: its files, METADATA, and a RECORD of their hashes."""
    for old in site.glob(f"{name}-*.dist-info"):
        shutil.rmtree(old)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    rows = []
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        rows.append(f"{relative},sha256={digest.decode()},{len(text)}")
    rows += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")


class Built:
    """A project and its runtime as the build recorded them, with the verifier's plan."""

    def __init__(self, root: Path) -> None:
        self.site = root / "venv" / "site-packages"
        self.stdlib = root / "python3.11"
        self.app = root / "app"
        self.tests = root / "tests" / "kettle"
        self.logs = root / "logs"
        for folder in (self.stdlib, self.app, self.tests, self.logs):
            folder.mkdir(parents=True)
        (self.stdlib / "os.py").write_text("# the standard library\n")
        (self.app / "requirements.txt").write_text("helper==1.0\n")
        install(self.site, "helper", "1.0", {"helper/__init__.py": HELPER_V1})
        install(self.site, "pytest", "8.3.5", {"pytest/__init__.py": "# the runner\n"})
        runtime = [str(self.stdlib / "os.py"), *map(str, sorted(self.site.rglob("*.py")))]
        runtime += [str(p) for p in sorted(self.site.rglob("*")) if p.name in ("METADATA",)]
        (self.tests / "runtime.sha256").write_text(
            "".join(f"{judge.sha256_file(path)}  {path}\n" for path in runtime)
        )
        owners = judge.distribution_files(str(self.site))
        (self.tests / judge.OWNERS_FILE).write_text(
            json.dumps({path: owner for path, owner in owners.items() if path in runtime})
        )
        plan = {
            "workdir": str(self.app),
            "env": {"PATH": "/usr/bin:/bin"},
            "interpreters": [],
            "runtime_manifest": "runtime.sha256",
            "hooks": {},
            "hook_dirs": [],
            "site_packages": [str(self.site)],
            "runner_distributions": ["pytest", "pluggy", "iniconfig"],
            "project_manifests": {
                path: judge.sha256_file(path) for path in judge.manifest_files(str(self.app))
            },
            "files": [],
            "runs": [
                {
                    "label": "the tests",
                    "argv": ["true"],
                    "cwd": str(self.app),
                    "report_format": "exit-code",
                    "timeout_sec": 30,
                }
            ],
            "expected": ["the tests"],
            "logs_dir": str(self.logs),
        }
        (self.tests / "plan.json").write_text(json.dumps(plan))

    def verify(self, capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
        judge.run(str(self.tests / "plan.json"))
        outcome = json.loads((self.logs / "outcomes.json").read_text())
        return outcome, capsys.readouterr().out


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return Built(tmp_path)


def test_an_unchanged_runtime_scores_on_the_tests_alone(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, _ = built.verify(capsys)
    assert outcome["reward"] == 1 and outcome["integrity_problems"] == []


def test_a_dependency_upgraded_through_the_projects_manifest_is_not_tampering(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    (built.app / "requirements.txt").write_text("helper==2.0\n")
    install(built.site, "helper", "2.0", {"helper/__init__.py": HELPER_V2})
    outcome, stdout = built.verify(capsys)
    assert outcome["reward"] == 1, outcome["reason"]
    [accepted] = outcome["accepted_changes"]
    assert accepted.startswith("helper 1.0 -> 2.0: the project's requirements.txt declares it")
    assert "accepted dependency change: helper 1.0 -> 2.0" in stdout


@pytest.mark.parametrize(
    ("cheat", "why"),
    [
        ("patched_in_place", "helper 1.0 was changed in place, not upgraded"),
        ("forged_upgrade", "helper 2.0's files do not match its RECORD"),
        ("undeclared_upgrade", "without a change to the project's dependency manifest"),
        ("runner_patched", "the test runner, pytest==8.3.5, must stay as built"),
        ("stdlib_patched", "part of the interpreter or runtime, not a package"),
    ],
)
def test_other_changes_to_the_runtime_are_tampering_and_the_reason_is_written(
    built: Built, capsys: pytest.CaptureFixture[str], cheat: str, why: str
) -> None:
    module = built.site / "helper" / "__init__.py"
    if cheat == "patched_in_place":
        module.write_text(HELPER_V1 + "import builtins\n")
    elif cheat == "forged_upgrade":
        (built.app / "requirements.txt").write_text("helper==2.0\n")
        install(built.site, "helper", "2.0", {"helper/__init__.py": HELPER_V2})
        module.write_text(HELPER_V2 + "# and something else\n")
    elif cheat == "undeclared_upgrade":
        install(built.site, "helper", "2.0", {"helper/__init__.py": HELPER_V2})
    elif cheat == "runner_patched":
        (built.site / "pytest" / "__init__.py").write_text("# every test passes\n")
    else:
        (built.stdlib / "os.py").write_text("# a planted hook\n")
    outcome, stdout = built.verify(capsys)
    assert outcome["reward"] == 0 and outcome["accepted_changes"] == []
    assert outcome["reason"].startswith("the runtime was tampered with: changed: ")
    assert why in outcome["reason"] and why in stdout


def test_a_changed_manifest_without_its_packages_is_explained(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    """Harbor's separate verifier gets the project folder only: the agent's upgrade of a
    dependency is not installed there, and the verifier says so instead of staying silent."""
    (built.app / "requirements.txt").write_text("helper==2.0\n")
    outcome, stdout = built.verify(capsys)
    [note] = outcome["notes"]
    assert "changed the project's dependency manifest (requirements.txt)" in note
    assert f"gets only {built.app} from the agent" in note and "note: " in stdout
