"""Mutants of an upstream fix: plausible wrong fixes on the lines the fix changed."""

from __future__ import annotations

import shutil

import pytest

from meta_bench.mutate import mutants

START = """def pages(total, per_page):
    return total // per_page
"""

FIXED = (
    "def pages(total, per_page):\n"
    '    """How many pages: 1 or more,\n'
    '    and never < 1 when there are 0 items."""\n'
    "    if total == 0:\n"
    "        return 1\n"
    '    # ceil(total / per_page): "a partial page < 1 counts"\n'
    "    return (total + per_page - 1) // per_page\n"
)

PATH = "src/pages.py"


def by_technique(found: list) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for mutant in found:
        grouped.setdefault(mutant.technique, []).append(mutant)
    return grouped


def test_every_technique_applies_to_a_fix_with_a_branch_and_arithmetic() -> None:
    found = by_technique(mutants({PATH: START}, {PATH: FIXED}, limit=50))
    assert set(found) == {"mutant_flip_condition", "mutant_off_by_one", "mutant_drop_branch"}
    flipped = [m.files[PATH] for m in found["mutant_flip_condition"]]
    assert any("if total != 0:" in text for text in flipped)
    moved = [m.files[PATH] for m in found["mutant_off_by_one"]]
    assert any("return 2" in text for text in moved)
    assert any("per_page - 2)" in text for text in moved)
    dropped = found["mutant_drop_branch"][0].files[PATH]
    assert "if total" not in dropped and "return 1\n" not in dropped


def test_strings_comments_docstrings_and_unchanged_lines_are_never_mutated() -> None:
    for mutant in mutants({PATH: START}, {PATH: FIXED}, limit=50):
        text = mutant.files[PATH]
        assert '"a partial page < 1 counts"' in text
        assert "How many pages: 1 or more,\n    and never < 1 when there are 0 items." in text
        assert "def pages(total, per_page):" in text


def test_a_mutant_that_does_not_parse_is_dropped() -> None:
    start = "def f(x):\n    return x\n"
    fixed = "def f(x):\n    if x:\n        return x\n    return 0\n"
    for mutant in mutants({PATH: start}, {PATH: fixed}, limit=50):
        compile(mutant.files[PATH], PATH, "exec")


def test_reverting_one_block_needs_a_fix_of_two_blocks_of_code() -> None:
    assert not [
        m
        for m in mutants({PATH: START}, {PATH: FIXED}, limit=50)
        if m.technique == "mutant_revert_hunk"
    ]
    docs = {"README.md": "old\n", PATH: START}
    changed_docs = {"README.md": "new\n", PATH: FIXED}
    assert all(m.path == PATH for m in mutants(docs, changed_docs, limit=50))
    start = {"a.py": "A = 1\n", "b.py": "B = 1\n"}
    fixed = {"a.py": "A = 2\n", "b.py": "B = 2\n"}
    reverted = [m for m in mutants(start, fixed, limit=50) if m.technique == "mutant_revert_hunk"]
    assert sorted(tuple(sorted(m.files.items())) for m in reverted) == [
        (("a.py", "A = 1\n"), ("b.py", "B = 2\n")),
        (("a.py", "A = 2\n"), ("b.py", "B = 1\n")),
    ]


def test_mutants_are_named_by_technique_spread_over_techniques_and_capped() -> None:
    found = mutants({PATH: START}, {PATH: FIXED}, limit=4)
    assert len(found) == 4
    assert len({m.technique for m in found}) == 3
    assert len({m.name for m in found}) == 4
    assert all(m.name.split("_")[-1].isdigit() for m in found)


def test_no_mutant_equals_the_fix_or_the_start() -> None:
    for mutant in mutants({PATH: START}, {PATH: FIXED}, limit=50):
        assert mutant.files[PATH] not in (START, FIXED)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_branches_are_dropped_with_their_braces() -> None:
    start = "function f(a) {\n  return a;\n}\n"
    fixed = "function f(a) {\n  if (a === 0) {\n    return 1;\n  }\n  return a + 1;\n}\n"
    found = by_technique(mutants({"f.js": start}, {"f.js": fixed}, limit=50))
    assert found["mutant_drop_branch"][0].files["f.js"] == "function f(a) {\n  return a + 1;\n}\n"
    assert any("a !== 0" in m.files["f.js"] for m in found["mutant_flip_condition"])
