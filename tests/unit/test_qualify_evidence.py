"""agents.qualify.evidence: the user's words as weighted terms, and changes scored on them."""

from __future__ import annotations

from agents.qualify.evidence import Scorer, Term, change_text, user_words
from tools.sessions.records import Candidate


def _words(*prompts: str, touched: list[str] | None = None) -> dict[str, str]:
    candidate = Candidate(
        id="c",
        source_format="candidates_jsonl",
        source_path="c.jsonl",
        first_prompt=prompts[0],
        follow_ups=list(prompts[1:]),
        files_touched=touched or [],
    )
    return {term.text: term.kind for term in user_words(candidate).terms}


def _patch(path: str, removed: list[str], added: list[str], context: str = "") -> str:
    lines = [f"diff --git a/{path} b/{path}", f"--- a/{path}", f"+++ b/{path}"]
    lines.append(f"@@ -1,{len(removed)} +1,{len(added)} @@ {context}")
    lines += [f"-{line}" for line in removed] + [f"+{line}" for line in added]
    return "\n".join(lines) + "\n"


def test_code_the_user_marked_and_code_shaped_words_are_strong_terms() -> None:
    terms = _words("Calling `get_hookcallers(plugin)` on TLDExtract twice returns duplicates")
    assert terms["get_hookcallers"] == "code"
    assert terms["tldextract"] == "identifier"
    assert terms["duplicat"] == "word"  # plain words are stemmed


def test_an_error_message_gives_its_name_and_the_fixed_parts_of_its_text() -> None:
    terms = _words('It fails with `MissingArgumentError: Parameter "--tags" requires an argument.`')
    assert terms["missingargumenterror"] == "code"
    assert terms["requires an argument"] == "phrase"
    assert terms["tags"] == "code"
    # Prose inside the back-ticked message is not code.
    assert terms["parameter"] == "word"


def test_bare_numbers_are_weak_and_quoted_values_are_values() -> None:
    terms = _words("On 2024-09-24 the suffix of 'foo.uk.com' comes back as 'com'")
    assert terms["2024"] == "number"
    assert terms["foo.uk.com"] == "value"


def test_each_text_is_one_term_of_its_most_telling_kind() -> None:
    terms = _words("`updated_at` is wrong: updated_at equals created_at")
    assert terms["updated_at"] == "code"
    assert list(terms).count("updated_at") == 1


def test_files_the_session_touched_are_path_terms() -> None:
    terms = _words("it breaks", touched=["src/app/export.py"])
    assert terms["src/app/export.py"] == "path"


def test_a_large_change_that_mentions_everything_does_not_outrank_a_targeted_fix() -> None:
    words = user_words(
        Candidate(
            id="c",
            source_format="candidates_jsonl",
            source_path="c.jsonl",
            first_prompt="`export_csv(rows)` drops the last row when it has a quoted comma",
        )
    )
    fix = change_text(
        "export: keep the final quoted row",
        ["ledger/export.py"],
        _patch(
            "ledger/export.py",
            ["    for row in rows[:-1]:"],
            ["    for row in rows:"],
            "def export_csv(rows, path):",
        ),
    )
    filler = [f"    value_{i} = compute(rows, last, row, comma, quoted)" for i in range(600)]
    refactor = change_text(
        "Restructure the package",
        ["ledger/export.py", "ledger/core.py"],
        _patch("ledger/core.py", [], ["def export_csv(rows, path):", *filler]),
    )
    others = [change_text(f"chore {i}", [f"docs/{i}.md"], "") for i in range(5)]
    scorer = Scorer(words, [fix, refactor, *others])
    assert scorer.score(fix).score > scorer.score(refactor).score


def test_lines_only_moved_or_reindented_are_no_evidence() -> None:
    words = user_words(
        Candidate(
            id="c",
            source_format="candidates_jsonl",
            source_path="c.jsonl",
            first_prompt="`parse_amount` crashes on negative amounts",
        )
    )
    reformat = change_text(
        "style: reformat",
        ["calc/parse.py"],
        _patch("calc/parse.py", ["def parse_amount(text):"], ["def  parse_amount( text ):"]),
    )
    scorer = Scorer(words, [reformat, change_text("other", ["x.py"], "")])
    assert Term("parse_amount", "code") not in {m.term for m in scorer.score(reformat).matches}
