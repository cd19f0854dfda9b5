"""The validation report as the builder agent reads it, check selection, probe scripts."""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.errors import ConfigError
from tools.validation.image_scan import archive_texts
from tools.validation.probes import PROBES
from tools.validation.records import ValidationCheck, ValidationReport
from tools.validation.validate import ALL_CHECKS, select_checks


def _report(*checks: ValidationCheck, not_run: dict[str, str] | None = None) -> ValidationReport:
    return ValidationReport(
        task_id="demo",
        passed=not any(not c.passed and c.severity == "error" for c in checks),
        checks=list(checks),
        not_run=not_run or {},
        started_at=datetime.now(UTC),
        duration_sec=12.0,
    )


def test_feedback_lists_each_failure_with_its_evidence_and_what_to_do() -> None:
    report = _report(
        ValidationCheck(name="build", category="build", passed=True, message="builds"),
        ValidationCheck(
            name="exploit:stub_binaries",
            category="exploit",
            passed=False,
            message="the verifier gave reward 1 after the probe replaced python: require evidence",
            evidence={"reward": 1.0, "probe_log": "replaced /usr/bin/python3\n" + "x" * 2000},
        ),
        ValidationCheck(
            name="static:dockerfile",
            category="static",
            passed=False,
            severity="warning",
            message="`git clone` leaves a .git",
        ),
        not_run={"exploit:pytest_hook": "fail_fast: an earlier check failed"},
    )
    text = report.feedback()
    assert text.splitlines()[0].startswith("Validation of demo: FAILED — 2 of 3 checks passed")
    assert "1. [exploit] exploit:stub_binaries: the verifier gave reward 1" in text
    assert "reward: 1.0" in text and "replaced /usr/bin/python3" not in text, "long logs keep tails"
    assert "- static:dockerfile: `git clone` leaves a .git" in text
    assert "- exploit:pytest_hook: fail_fast" in text
    assert text.rstrip().endswith("then declare the task done again.")


def test_a_report_with_only_warnings_passes_and_says_so() -> None:
    report = _report(
        ValidationCheck(
            name="static:dockerfile",
            category="static",
            passed=False,
            severity="warning",
            message="FROM ignores kettle's base image",
        )
    )
    assert report.passed and report.failures == [] and len(report.warnings) == 1
    assert "PASSED" in report.feedback().splitlines()[0]


def test_report_round_trips_through_json() -> None:
    report = _report(
        ValidationCheck(name="oracle", category="oracle", passed=True, message="ok", evidence={})
    )
    assert ValidationReport.model_validate_json(report.model_dump_json()) == report
    assert report.check("oracle").passed
    with pytest.raises(KeyError):
        report.check("determinism")


def test_checks_are_selected_by_name_or_category_in_run_order() -> None:
    assert select_checks(None) == list(ALL_CHECKS)
    selected = select_checks({"exploit", "start_state"})
    assert selected[0] == "build" and "start_state" in selected, "the image is needed"
    exploits = [c for c in selected if c.startswith("exploit:")]
    assert exploits == [f"exploit:{probe.name}" for probe in PROBES]
    assert "leak:git" not in selected
    with pytest.raises(ConfigError, match="exploit:nope"):
        select_checks({"exploit:nope"})


@pytest.mark.parametrize("probe", PROBES, ids=lambda probe: probe.name)
def test_every_probe_is_valid_bash_even_for_an_awkward_workdir(probe) -> None:
    script = probe.script("/srv/my project's dir")
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert probe.summary and probe.advice


def test_archives_are_opened_whatever_their_name(tmp_path: Path) -> None:
    wheel = tmp_path / "cache-entry"  # pip's http cache names files by hash, not extension
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("stash/keys.py", "key += tuple(sorted(kwargs.items()))\n")
    tarball = tmp_path / "sdist.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        data = b"fixed = True\n"
        info = tarfile.TarInfo("pkg-1.0/pkg/mod.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    single = tmp_path / "fix.patch.gz"
    single.write_bytes(gzip.compress(b"+fixed line\n"))
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01not an archive")

    assert list(archive_texts(wheel)) == [
        ("stash/keys.py", "key += tuple(sorted(kwargs.items()))\n")
    ]
    assert list(archive_texts(tarball)) == [("pkg-1.0/pkg/mod.py", "fixed = True\n")]
    assert list(archive_texts(single)) == [("(gzip)", "+fixed line\n")]
    assert list(archive_texts(junk)) == []
