from pathlib import Path

import pytest
from ledgerline.cli import main


@pytest.fixture
def statement(tmp_path: Path, sample_lines: list[str]) -> Path:
    path = tmp_path / "statement.csv"
    path.write_text("".join(sample_lines), encoding="utf-8")
    return path


def test_prints_a_section_per_month(statement: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(statement)]) == 0
    out = capsys.readouterr().out
    assert "== 2025-01" in out and "== 2025-02" in out


def test_since_leaves_out_earlier_months(statement: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(statement), "--since", "2025-02"]) == 0
    out = capsys.readouterr().out
    assert "== 2025-01" not in out
    assert "-3.90" in out
