"""instruction.md: the user's own words, cleaned of tool noise, with nothing that leaks the fix."""

from __future__ import annotations

from tools.sessions.instruction import (
    clean_prompt,
    compose_instruction,
    find_leaks,
    instruction_report,
    is_acknowledgement,
    names_defined_in_tests,
    names_in_test_ids,
    remove_leaks,
)
from tools.sessions.records import Candidate

FIX_DIFF = """diff --git a/src/parse.py b/src/parse.py
--- a/src/parse.py
+++ b/src/parse.py
@@ -20,2 +20,6 @@
-    cleaned = text.strip().strip("()")
+    cleaned = text.strip()
+    if cleaned.startswith("(") and cleaned.endswith(")"):
+        negative, cleaned = True, cleaned[1:-1]
     for symbol in _SYMBOLS:
"""
FIX_SHA = "47f97aea104728f621ee3228e05e3bf85af929b8"
START_SHA = "8bb738a07a135ad65f6d2e696c3c491a2576e466"


def _candidate(first: str, *follow_ups: str) -> Candidate:
    return Candidate(
        id="c1",
        source_format="claude_code",
        source_path="/sessions/c1.jsonl",
        first_prompt=first,
        follow_ups=list(follow_ups),
        workspace_path="/home/dev/src/ledgerline",
    )


class TestCleaning:
    def test_tool_noise_goes_and_the_users_words_stay(self) -> None:
        text = (
            "<ide_opened_file>The user opened src/parse.py</ide_opened_file>\n"
            "Amounts in parentheses come out positive.\n"
            "[Pasted text #1 +12 lines]\n"
            "<system-reminder>Be concise.</system-reminder>\n"
            "[Request interrupted by user]\n"
            "\x1b[31mred\x1b[0m text"
        )
        assert clean_prompt(text) == "Amounts in parentheses come out positive.\nred text"

    def test_pasted_environment_blocks_are_dropped(self) -> None:
        text = "Fix it.\n<environment_details>\n# Current Time\n1/1/2025\n</environment_details>"
        assert clean_prompt(text) == "Fix it."

    def test_workspace_paths_become_paths_under_the_workdir(self) -> None:
        text = "See /home/dev/src/ledgerline/src/parse.py and /home/dev/src/ledgerline."
        cleaned = clean_prompt(text, workspace="/home/dev/src/ledgerline", workdir="/app")
        assert cleaned == "See /app/src/parse.py and /app."

    def test_acknowledgements_carry_no_intent(self) -> None:
        for text in ("ok", "Thanks!", "go ahead please", "LGTM", "yes, continue"):
            assert is_acknowledgement(text), text
        for text in ("ok but keep the old format", "no", "thanks, now also handle 45.00-"):
            assert not is_acknowledgement(text), text


class TestLeaks:
    def test_commit_hashes_are_leaks(self) -> None:
        leaks = find_leaks(f"It broke in {FIX_SHA[:9]}, see deadbeef and 1234567.", None, [])
        assert leaks == [FIX_SHA[:9]]  # letters-only and digits-only words are not hashes

    def test_a_long_run_shared_with_the_added_lines_is_a_leak(self) -> None:
        quoted = 'Just do if cleaned.startswith("(") and cleaned.endswith(")"): and flip it.'
        assert find_leaks(quoted, FIX_DIFF, [])
        # Short shared bits ("cleaned", "(45.00)") and removed lines are not leaks.
        harmless = 'Right now it does text.strip().strip("()") which drops the sign.'
        assert find_leaks(harmless, FIX_DIFF, []) == []

    def test_hidden_test_names_are_leaks_as_whole_words(self) -> None:
        names = ["test_debits_are_negative", "numeric prerelease identifiers compare as numbers"]
        assert find_leaks("make test_debits_are_negative pass", None, names) == [names[0]]
        assert find_leaks("test_debits_are_negatives", None, names) == []
        text = "Numeric prerelease identifiers compare as numbers, please."
        assert find_leaks(text, None, names) == [names[1]]

    def test_short_titles_are_ordinary_words(self) -> None:
        assert find_leaks("it works for plain amounts", None, ["works", "plain amounts"]) == []

    def test_leaks_are_replaced_word_for_word_and_the_sentences_stay(self) -> None:
        text = (
            f"Parsing is wrong since {FIX_SHA[:8]}. Debits come out positive.\n\n"
            "Please keep test_plain_amounts green. Thanks."
        )
        assert remove_leaks(text, None, ["test_plain_amounts"]) == (
            "Parsing is wrong since a commit. Debits come out positive.\n\n"
            "Please keep a test green. Thanks."
        )

    def test_only_hashes_that_are_commits_of_the_repository_are_leaks(self) -> None:
        text = f"After 3f2c1a9e the CSV export drops the last row; {FIX_SHA[:9]} did it."
        leaks = find_leaks(text, None, [], known_commit=lambda token: FIX_SHA.startswith(token))
        assert leaks == [FIX_SHA[:9]]

    def test_names_are_read_from_test_files_and_test_ids(self) -> None:
        source = (
            "def test_debits_are_negative():\n    pass\nclass TestParse:\n    pass\n"
            "test('numeric prerelease identifiers compare as numbers', () => {});\n"
        )
        assert names_defined_in_tests([source]) == {
            "test_debits_are_negative",
            "TestParse",
            "numeric prerelease identifiers compare as numbers",
        }
        ids = ["tests/test_p.py::TestA::test_b[x]", "test/c.test.js::suite > a case"]
        assert names_in_test_ids(ids) == {"TestA", "test_b", "suite", "a case"}


class TestCompose:
    def test_the_prompts_in_order_then_where_the_project_is(self) -> None:
        candidate = _candidate(
            "Debits in parentheses come out positive.", "Also 45.00- is a debit.", "thanks!"
        )
        text = compose_instruction(candidate)
        assert text == (
            "Debits in parentheses come out positive.\n\nAlso 45.00- is a debit.\n\n"
            "The project is in `/app`.\n"
        )

    def test_nothing_that_gives_the_fix_away_survives(self) -> None:
        candidate = _candidate(
            f"Debits come out positive. I think {FIX_SHA[:7]} on main fixes it.",
            'Do it like this: if cleaned.startswith("(") and cleaned.endswith(")"): negate.',
            "Make sure test_debits_in_accounting_notation_are_negative passes.",
            "Plain amounts must keep working.",
        )
        text = compose_instruction(
            candidate,
            fix_diff=FIX_DIFF,
            test_names=["tests/test_parse.py::test_debits_in_accounting_notation_are_negative"],
        )
        assert text == (
            "Debits come out positive. I think a commit on main fixes it.\n\n"
            "Do it like this: […].\n\n"
            "Make sure a test passes.\n\nPlain amounts must keep working.\n\n"
            "The project is in `/app`.\n"
        )
        assert find_leaks(text, FIX_DIFF, ["test_debits_in_accounting_notation_are_negative"]) == []

    def test_the_workdir_is_the_tasks(self) -> None:
        candidate = _candidate("Open /home/dev/src/ledgerline/README.md and fix the example.")
        text = compose_instruction(candidate, workdir="/srv/app")
        assert text.startswith("Open /srv/app/README.md")
        assert text.endswith("The project is in `/srv/app`.\n")


class TestUsersWordsKept:
    def test_a_hash_that_is_no_commit_of_the_repository_keeps_its_sentence(self) -> None:
        candidate = _candidate("After 3f2c1a9e the CSV export drops the last row. Fix it.")
        text = compose_instruction(candidate, known_commit=lambda token: False)
        assert text.startswith("After 3f2c1a9e the CSV export drops the last row. Fix it.")

    def test_a_prompt_naming_the_failing_test_keeps_everything_else(self) -> None:
        candidate = _candidate(
            "test_export_keeps_the_last_row fails: the CSV export drops the last row when "
            "it ends with a quoted comma. Please fix the export."
        )
        report = instruction_report(
            candidate, test_names=["tests/test_export.py::test_export_keeps_the_last_row"]
        )
        assert report.text.startswith(
            "a test fails: the CSV export drops the last row when it ends with a quoted comma."
        )
        assert report.enough and report.redacted == ["test name"]

    def test_the_users_identity_is_replaced_with_neutral_stand_ins(self) -> None:
        candidate = _candidate(
            "Reading /home/alice/.config/ledger.toml fails on my laptop (C:\\Users\\alice\\x.csv "
            "too). Ping alice.smith@acme-corp.com or see https://ci.build.corp/job/7 and "
            "db01.internal; run `git clone git@github.com:acme/ledger` first."
        )
        text = compose_instruction(candidate)
        for private in ("alice", "acme-corp.com", "build.corp", "db01.internal"):
            assert private not in text, private
        assert "/home/user/.config/ledger.toml" in text
        assert "C:\\Users\\user\\x.csv" in text
        assert "user@example.com" in text and "https://internal.example/job/7" in text
        assert "git@github.com:acme/ledger" in text  # a public remote is no identity

    def test_too_little_of_the_users_text_is_refused_with_the_reason(self) -> None:
        candidate = _candidate("Make test_debits_in_accounting_notation_are_negative pass.")
        report = instruction_report(
            candidate, test_names=["test_debits_in_accounting_notation_are_negative"]
        )
        assert not report.enough
        assert "too little of the user's own text" in report.reason
        assert (report.user_words, report.kept_words) == (3, 2)
