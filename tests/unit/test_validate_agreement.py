"""tools.validation.agreement: the verifier's fail-to-pass tests must exercise what the
instruction asks; a verifier for another bug is a mismatch."""

from __future__ import annotations

import json
from pathlib import Path

from tools.validation.agreement import check_agreement

INSTRUCTION = (
    "When I call `export_csv(rows, path)` and the last row has a quoted comma in it, like "
    '`["Smith, J", 42]`, the file ends one row short.\n\nThe project is in `/app`.\n'
)
EXPORT_TESTS = """from ledger.export import export_csv


def test_header(tmp_path):
    export_csv([], tmp_path / "out.csv")


def test_export_keeps_the_last_quoted_row(tmp_path):
    export_csv([["Ada", 1], ["Smith, J", 42]], tmp_path / "out.csv")
    assert '"Smith, J",42' in (tmp_path / "out.csv").read_text()
"""
CONFIG_TESTS = """from ledger.config import load_config


def test_an_empty_settings_file_reads_as_no_settings(tmp_path):
    (tmp_path / "c.json").write_text("")
    assert load_config(tmp_path / "c.json") == {}
"""


def _tests(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "tests").mkdir(parents=True)
    (tmp_path / "tests" / name).write_text(text)
    return tmp_path / "tests"


def test_tests_that_call_what_the_user_named_agree(tmp_path: Path) -> None:
    tests = _tests(tmp_path, "test_export.py", EXPORT_TESTS)
    check = check_agreement(
        INSTRUCTION, ["tests/test_export.py::test_export_keeps_the_last_quoted_row"], tests
    )
    assert check.passed and check.severity == "warning"
    assert "export_csv" in check.evidence["shared_terms"]
    assert "smith, j" in check.evidence["shared_terms"]


def test_a_verifier_for_another_bug_is_a_mismatch(tmp_path: Path) -> None:
    tests = _tests(tmp_path, "test_config.py", CONFIG_TESTS)
    check = check_agreement(
        INSTRUCTION,
        ["tests/test_config.py::test_an_empty_settings_file_reads_as_no_settings"],
        tests,
    )
    assert not check.passed and check.severity == "warning"
    assert "share nothing telling with the instruction" in check.message


def test_a_verifier_that_names_no_fail_to_pass_tests_is_compared_as_a_whole(
    tmp_path: Path,
) -> None:
    """A model-written verifier may not list its fail-to-pass tests: its files stand in."""
    agreeing = check_agreement(INSTRUCTION, [], _tests(tmp_path / "a", "test_x.py", EXPORT_TESTS))
    assert agreeing.passed and "the verifier's files" in agreeing.message
    other = check_agreement(INSTRUCTION, [], _tests(tmp_path / "b", "test_y.py", CONFIG_TESTS))
    assert not other.passed and "share nothing telling" in other.message


def test_a_verifier_without_files_cannot_agree(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    check = check_agreement(INSTRUCTION, [], tmp_path / "tests")
    assert not check.passed and "no verifier tests" in check.message


def test_a_data_driven_test_named_by_its_line_is_compared_by_its_case(tmp_path: Path) -> None:
    """markdown-it's tests are cases of a fixture file, named "line N" by where they start:
    the case there is the test's source, not the module that reads the folder."""
    cases = ["Unrelated case", ".", "*emphasis*", ".", "<p><em>emphasis</em></p>", "."] * 10
    cases += ["HTML comment followed by a blank line", ".", "<!-- note -->", "", "text", "."]
    cases += ["<!-- note -->", "<p>text</p>", "."]
    tests = _tests(tmp_path, "markdown-it.mjs", "generate(join(here, 'fixtures/md'), md)\n")
    (tests / "fixtures").mkdir()
    (tests / "fixtures" / "extras.txt").write_text("\n".join(cases) + "\n")
    instruction = (
        "A block-level HTML comment like `<!-- note -->` followed by a blank line swallows "
        "the next paragraph.\n\nThe project is in `/app`.\n"
    )
    # The baseline verifier's plan lists every test id: it is machinery, not a test's source.
    ids = ["markdown-it.mjs::extras.txt > line 61", "markdown-it.mjs::extras.txt > line 1"]
    (tests / "kettle").mkdir()
    (tests / "kettle" / "plan.json").write_text(json.dumps({"expected": ids}, indent=2))
    machinery = {"kettle/plan.json"}
    agreed = check_agreement(instruction, ids[:1], tests, machinery)
    assert agreed.passed, agreed.message
    other = check_agreement(instruction, ids[1:], tests, machinery)
    assert not other.passed, other.message


def test_a_mocha_id_joining_describe_and_it_titles_finds_the_tests_own_body(
    tmp_path: Path,
) -> None:
    """validator.js: the id "Validators should validate rgb color strings" joins the
    describe's title and the test's; the source has them in separate calls."""
    source = (
        "describe('Validators', () => {\n"
        "  it('should validate hex colors', () => {\n"
        "    test({ validator: 'isHexColor', valid: ['#ff0034'] });\n"
        "  });\n" + "  // filler\n" * 50 + "  it('should validate rgb color strings', () => {\n"
        "    test({ validator: 'isRgbColor', valid: ['rgba(0,0,0,1.00)'] });\n"
        "  });\n"
        "});\n"
    )
    tests = _tests(tmp_path, "validators.test.js", source)
    instruction = (
        "`validator.isRgbColor('rgba(0,0,0,1.00)')` returns false, though CSS allows two "
        "decimals of alpha.\n\nThe project is in `/app`.\n"
    )
    rgb = ["test/validators.test.js::Validators should validate rgb color strings"]
    assert check_agreement(instruction, rgb, tests).passed
    hex_only = ["test/validators.test.js::Validators should validate hex colors"]
    assert not check_agreement(instruction, hex_only, tests).passed
