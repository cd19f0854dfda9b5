"""agents.qualify.trivial and tools.projects.paths: telling behaviour changes from cosmetics."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.qualify.config import QualifyConfig
from agents.qualify.trivial import analyze_patch, check_nontrivial_change, text_spans
from tools.projects.paths import classify_path
from tools.repos.builder import build_repo
from tools.repos.git import open_repo
from tools.repos.records import CommitSpec


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("src/calc/parse.py", "source"),
        ("tests/test_parse.py", "test"),
        ("pkg/parse_test.go", "test"),
        ("src/slug.test.js", "test"),
        ("src/test/java/FooTest.java", "test"),
        ("conftest.py", "test"),
        ("README.md", "docs"),
        ("docs/conf.py", "docs"),
        ("CHANGELOG", "docs"),
        ("pyproject.toml", "build"),
        ("package.json", "build"),
        (".github/workflows/ci.yml", "build"),
        ("Dockerfile", "build"),
        ("assets/logo.png", "other"),
        ("cmd/server/main.go", "source"),
    ],
)
def test_paths_are_classified_by_what_a_test_could_exercise(path: str, kind: str) -> None:
    assert classify_path(path) == kind


def _patch(tmp_path: Path, path: str, before: str, after: str) -> str:
    shas = build_repo(
        tmp_path / "r",
        [
            CommitSpec(message="before", files={path: before}),
            CommitSpec(message="after", files={path: after}),
        ],
    )
    with open_repo(str(tmp_path / "r"), tmp_path / "c") as repo:
        return repo.commit_patch(shas[1])


def _kind(tmp_path: Path, path: str, before: str, after: str) -> str:
    return analyze_patch(_patch(tmp_path, path, before, after)).kind


PY = (
    "def load(path):\n"
    "    if not path:\n"
    '        raise ValueError("path is requried")\n'
    "    return 1\n"
)


def test_typo_in_a_python_string_is_typo_only(tmp_path: Path) -> None:
    after = PY.replace("requried", "required")
    analysis = analyze_patch(_patch(tmp_path, "src/load.py", PY, after))
    assert analysis.kind == "typo_only"
    assert analysis.changed_words == 1


def test_typo_in_a_go_comment_is_typo_only(tmp_path: Path) -> None:
    before = "package a\n\n// Recieve reads one mesage.\nfunc Receive() int { return 1 }\n"
    after = before.replace("Recieve", "Receive").replace("mesage", "message")
    assert _kind(tmp_path, "a.go", before, after) == "typo_only"


def test_typo_in_a_js_template_string_is_typo_only(tmp_path: Path) -> None:
    before = "export const greet = (n) => `Helo, ${n}!`;\n"
    assert _kind(tmp_path, "src/greet.js", before, before.replace("Helo", "Hello")) == "typo_only"


def test_fixing_a_misspelled_identifier_is_a_real_change(tmp_path: Path) -> None:
    before = "class Box:\n    def get(self):\n        return self.recieved\n"
    after = before.replace("recieved", "received")
    assert _kind(tmp_path, "box.py", before, after) == "behavioural"


def test_changing_an_operator_is_a_real_change(tmp_path: Path) -> None:
    before = "def ok(n):\n    return n < 10\n"
    assert _kind(tmp_path, "ok.py", before, before.replace("<", "<=")) == "behavioural"


def test_changing_a_number_in_a_message_is_a_real_change(tmp_path: Path) -> None:
    before = 'RETRIES = "retry 3 times"\n'
    assert _kind(tmp_path, "r.py", before, before.replace("3", "5")) == "behavioural"


def test_rewording_a_whole_message_is_not_a_typo(tmp_path: Path) -> None:
    before = 'MSG = "could not open the file"\n'
    after = 'MSG = "permission denied while reading configuration"\n'
    assert _kind(tmp_path, "m.py", before, after) == "behavioural"


def test_reindenting_is_whitespace_only(tmp_path: Path) -> None:
    before = "def f():\n  return 1\n"
    assert _kind(tmp_path, "f.py", before, "def f():\n    return 1\n") == "whitespace_only"


def test_rewriting_comments_is_comment_only(tmp_path: Path) -> None:
    before = "// old explanation\nint f() { return 1; }\n"
    after = "// A completely new and longer explanation\n// over two lines\nint f() { return 1; }\n"
    assert _kind(tmp_path, "f.c", before, after) == "comment_only"


def test_markdown_changes_are_docs_only(tmp_path: Path) -> None:
    assert _kind(tmp_path, "README.md", "# A\n\nold\n", "# A\n\nnew text\n") == "docs_only"


def test_many_typos_are_more_than_a_typo_fix(tmp_path: Path) -> None:
    words = [
        "teh",
        "recieve",
        "adress",
        "wich",
        "seperate",
        "occured",
        "untill",
        "beleive",
        "goverment",
    ]
    before = "".join(f'M{i} = "{w}"\n' for i, w in enumerate(words))
    after = before
    for wrong, right in zip(
        words,
        [
            "the",
            "receive",
            "address",
            "which",
            "separate",
            "occurred",
            "until",
            "believe",
            "government",
        ],
        strict=True,
    ):
        after = after.replace(f'"{wrong}"', f'"{right}"')
    assert _kind(tmp_path, "m.py", before, after) == "behavioural"


def test_string_and_comment_spans_are_found_on_a_line() -> None:
    line = 'x = "a # b"  # note'
    assert text_spans(line, "x.py") == [(4, 11, "string"), (13, 19, "comment")]
    assert text_spans("   * javadoc line", "A.java") == [(3, 17, "comment")]


def _check(tmp_path: Path, specs: list[CommitSpec], touched: list[str]) -> tuple[bool | None, str]:
    shas = build_repo(tmp_path / "r", specs)
    with open_repo(str(tmp_path / "r"), tmp_path / "c") as repo:
        result = check_nontrivial_change(repo, shas[-1], touched, QualifyConfig())
    return result.passed, result.code or ""


def test_check_passes_a_behaviour_change_and_fails_a_typo(tmp_path: Path) -> None:
    base = CommitSpec(message="start", files={"src/load.py": PY})
    fix = CommitSpec(message="fix", files={"src/load.py": PY.replace("not path", "path is None")})
    typo = CommitSpec(message="typo", files={"src/load.py": PY.replace("requried", "required")})
    assert _check(tmp_path / "a", [base, fix], ["src/load.py"]) == (True, "")
    assert _check(tmp_path / "b", [base, typo], ["src/load.py"]) == (False, "typo_only")


def test_without_a_fix_a_docs_only_session_is_still_docs_only(tmp_path: Path) -> None:
    build_repo(tmp_path / "r", [CommitSpec(message="start", files={"README.md": "# A\n"})])
    with open_repo(str(tmp_path / "r"), tmp_path / "c") as repo:
        docs = check_nontrivial_change(repo, None, ["README.md", "docs/guide.md"], QualifyConfig())
        code = check_nontrivial_change(repo, None, ["src/a.py"], QualifyConfig())
    assert (docs.passed, docs.code) == (False, "docs_only")
    assert (code.passed, code.code) == (None, None)
