"""Reading fix diffs: files, added lines, and which lines are distinctive enough to search for."""

from __future__ import annotations

from tests.conftest import EXAMPLE_TASKS
from tools.validation.diffs import (
    added_lines,
    copy_of_fix,
    diffs_in_script,
    is_distinctive,
    parse_unified_diff,
)

DIFF = """\
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,4 +1,4 @@
 def f(x):
--- comment that starts with two dashes
+--- comment that now has three
     return x

--- a/pkg/other.py
+++ b/pkg/other.py
@@ -3,2 +3,3 @@
 value = compute_the_value(settings)
+value = normalize_the_value(value, settings)
 return value
"""


def test_parses_the_solution_patch_of_every_example_task() -> None:
    expected = {
        "stash-kwargs-cache-key": ["src/stash/keys.py"],
        "reqstats-sort-and-gzip": ["bin/reqstats"],
        "renewals-month-end": ["src/dates.js", "src/schedule.js"],
    }
    for task, paths in expected.items():
        script = (EXAMPLE_TASKS / task / "solution" / "solve.sh").read_text()
        changes = parse_unified_diff(diffs_in_script(script))
        assert [change.path for change in changes] == paths
        assert all(change.added for change in changes)


def test_hunks_are_read_by_their_counts_so_dashed_lines_are_not_headers() -> None:
    changes = parse_unified_diff(DIFF)
    assert [c.path for c in changes] == ["pkg/mod.py", "pkg/other.py"]
    assert changes[0].removed == ["-- comment that starts with two dashes"]
    assert changes[0].added == ["--- comment that now has three"]
    # The blank context line lost its leading space (as heredocs often do) and still counts.
    assert changes[0].context == ["def f(x):", "    return x", ""]
    assert changes[1].added == ["value = normalize_the_value(value, settings)"]


def test_new_and_deleted_files_are_named_by_their_real_path() -> None:
    diff = (
        "--- /dev/null\n+++ b/new_module.py\n@@ -0,0 +1,2 @@\n+import os\n+X = 1\n"
        "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-print('bye')\n"
    )
    changes = parse_unified_diff(diff)
    assert [(c.path, c.added, c.removed) for c in changes] == [
        ("new_module.py", ["import os", "X = 1"], []),
        ("gone.py", [], ["print('bye')"]),
    ]


def test_text_that_is_no_diff_parses_to_nothing() -> None:
    assert parse_unified_diff("just some words\n+ not a hunk\n") == []
    assert diffs_in_script("#!/bin/bash\ncat <<'EOF'\nhello\nEOF\necho done\n") == ""


def test_diffs_in_script_finds_every_patch_heredoc() -> None:
    script = (
        "#!/bin/bash\nset -e\npatch -p1 <<'PATCH'\n" + DIFF + "PATCH\n"
        'git apply <<"EOF"\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-old line here\n'
        "+new line here\nEOF\n"
    )
    changes = parse_unified_diff(diffs_in_script(script))
    assert [c.path for c in changes] == ["pkg/mod.py", "pkg/other.py", "x.txt"]


def test_added_lines_leave_out_moved_lines_and_repeats() -> None:
    diff = (
        "--- a/m.js\n+++ b/m.js\n@@ -1,3 +1,4 @@\n-const total = sum(values);\n"
        "+const anchor = parseISODate(start);\n+const anchor = parseISODate(start);\n"
        " keep();\n+const total = sum(values);\n"
    )
    (change,) = parse_unified_diff(diff)
    assert added_lines(change) == ["const anchor = parseISODate(start);"]


def test_short_or_punctuation_lines_are_not_distinctive() -> None:
    assert not is_distinctive("}")
    assert not is_distinctive("return x;")
    assert not is_distinctive("})); // ---- ;;")
    assert is_distinctive("key += _KWARGS_MARK + tuple(sorted(kwargs.items()))")


def test_a_file_is_a_copy_of_the_fix_only_with_enough_of_its_lines() -> None:
    lines = [
        "const target = date.getUTCMonth() + months;",
        "const year = date.getUTCFullYear() + Math.floor(target / 12);",
        "const monthIndex = ((target % 12) + 12) % 12;",
        "result.setUTCFullYear(year, monthIndex, day);",
    ]
    assert copy_of_fix(set(lines[:1]), lines) == []
    assert copy_of_fix(set(lines[:2]), lines) == lines[:2]
    # A single distinctive line is enough when it is the whole fix, if it is long enough.
    assert copy_of_fix({"x = compute_the_thing(a, b, c)"}, ["x = compute_the_thing(a, b, c)"])
    assert copy_of_fix({"return a < b;;"}, ["return a < b;;"]) == []
