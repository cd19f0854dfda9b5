"""tools.sessions.candidates_jsonl: the generic one-candidate-per-line format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.errors import SessionFormatError
from tests.fixtures.sessions import write_candidates_jsonl
from tools.sessions.candidates_jsonl import parse_candidates_jsonl

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "id": "acme-1042",
    "repo": "https://github.com/acme/widgets",
    "start_commit": "3f2c1a9",
    "prompts": ["The CSV export drops the last row.", "Also keep the header."],
}


def _parse(tmp_path: Path, *rows):
    return parse_candidates_jsonl(write_candidates_jsonl(tmp_path / "candidates.jsonl", list(rows)))


def test_prompts_split_into_first_prompt_and_follow_ups(tmp_path):
    [candidate], errors = _parse(tmp_path, GOOD)
    assert errors == []
    assert candidate.first_prompt == "The CSV export drops the last row."
    assert candidate.follow_ups == ["Also keep the header."]
    assert (candidate.id, candidate.source_format) == ("acme-1042", "candidates_jsonl")
    assert (candidate.repo, candidate.start_commit) == (GOOD["repo"], "3f2c1a9")


def test_first_prompt_and_follow_ups_may_be_given_apart(tmp_path):
    row = {k: v for k, v in GOOD.items() if k != "prompts"}
    row |= {"first_prompt": "fix it", "follow_ups": ["more"]}
    [candidate], _ = _parse(tmp_path, row)
    assert candidate.prompts == ["fix it", "more"]


def test_optional_fields_become_hints(tmp_path):
    row = GOOD | {
        "fix_commit": "9b7e0d4",
        "license": "MIT",
        "files_touched": ["widgets/export.py"],
        "branch": "main",
        "language": "python",
        "started_at": "2025-03-01T12:00:00",
        "user_interventions": [{"kind": "interrupt", "text": "stop"}],
    }
    [candidate], _ = _parse(tmp_path, row)
    assert candidate.hints.fix_commit == "9b7e0d4"
    assert candidate.hints.license == "MIT"
    assert candidate.hints.branch == "main"
    assert candidate.files_touched == ["widgets/export.py"]
    assert candidate.started_at == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert [i.kind for i in candidate.user_interventions] == ["interrupt"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"start_commit": None}, "start_commit"),
        ({"prompts": []}, "first prompt"),
        ({"prompts": ["  "]}, "first prompt"),
        ({"first_prompt": "x"}, "not both"),
        ({"id": "../escape"}, "id must use only"),
        ({"follow_up": ["typo"]}, "follow_up"),
        ({"files_touched": ["/etc/passwd"]}, "not a repo-relative path"),
    ],
)
def test_a_bad_line_is_an_error_naming_the_line_and_field(tmp_path, change, complaint):
    row = {k: v for k, v in (GOOD | change).items() if v is not None}
    candidates, [error] = _parse(tmp_path, row)
    assert candidates == []
    assert "candidates.jsonl:1:" in str(error)
    assert complaint in str(error)


def test_bad_lines_do_not_stop_the_good_ones(tmp_path):
    path = tmp_path / "candidates.jsonl"
    write_candidates_jsonl(path, [GOOD, GOOD | {"id": "acme-2"}])
    path.write_text(path.read_text() + "{not json\n\n" + '["a list"]\n')
    candidates, errors = parse_candidates_jsonl(path)
    assert [c.id for c in candidates] == ["acme-1042", "acme-2"]
    assert [str(e).split(": ")[0] for e in errors] == [f"{path}:3", f"{path}:5"]


def test_a_repeated_id_is_an_error_on_the_later_line(tmp_path):
    candidates, [error] = _parse(tmp_path, GOOD, GOOD)
    assert len(candidates) == 1
    assert ":2:" in str(error) and "earlier line" in str(error)


def test_an_empty_file_is_a_format_error(tmp_path):
    path = tmp_path / "candidates.jsonl"
    path.write_text("\n\n")
    with pytest.raises(SessionFormatError, match="empty"):
        parse_candidates_jsonl(path)


def test_the_format_is_documented_for_users():
    doc = (REPO_ROOT / "docs" / "candidates-format.md").read_text()
    for name in ("id", "repo", "start_commit", "prompts", "first_prompt", "fix_commit", "license"):
        assert f"`{name}`" in doc
