"""Do the verifier's fail-to-pass tests exercise what the instruction asks?

A task pairs the user's words with a verifier. If the fix was misidentified, the verifier
tests another bug: validation still passes (that commit's tests fail before it and pass
after it), but the task asks one thing and rewards another. This check compares the two
deterministically: the identifiers, quoted values, numbers and words of the instruction
against those of the fail-to-pass tests' own source (their names, the code they call, the
values they assert). Sharing a telling term (an identifier or a value), or several
ordinary words, is agreement; sharing nothing is a mismatch.

The check is a warning: it fails no task, but a mismatch keeps ``--approve auto`` from
publishing it and is shown to the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path, PurePosixPath

from tools.projects.layout import CODE_FILE
from tools.validation.records import ValidationCheck

NAME = "agreement:instruction_verifier"
MIN_SHARED_WORDS = 3
_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
# One pattern per quote, each run over the whole text: a value quoted inside another quote
# ('"Smith, J",42') is found as well as the outer literal.
_LITERALS = (
    re.compile(r'"([^"\n]{1,80})"'),
    re.compile(r"'([^'\n]{1,80})'"),
    re.compile(r"`([^`\n]{1,80})`"),
)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w])")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_STOPWORDS_TEXT = (
    "the and for with that this from have when what which there their they then than "
    "into your please should would could make does about after before also just like "
    "some only still want need file files code function test tests work working keep "
    "must project assert true false none null return self def import class expect "
    "equal equals const let var async await new value values data result results "
    "should given case cases check when where while being been were will shall"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> tuple[set[str], set[str]]:
    """(telling terms: identifiers shaped like code and values; ordinary words)."""
    telling: set[str] = set()
    words: set[str] = set()
    for pattern in _LITERALS:
        for match in pattern.finditer(text):
            value = match.group(1).strip().lower()
            if len(value) >= 2:
                telling.add(value)
    for match in _NUMBER.finditer(text):
        if len(match.group(1)) >= 2:
            telling.add(match.group(1))
    for match in _IDENT.finditer(text):
        name = match.group(0)
        for piece in name.split("."):
            shaped = "_" in piece.strip("_") or bool(re.search(r"[a-z][A-Z]", piece))
            if shaped and len(piece) >= 4:
                telling.add(piece.lower())
            for part in re.split(r"_+", piece):
                for sub in _CAMEL.findall(part):
                    if len(sub) >= 4 and sub.lower() not in _STOPWORDS:
                        words.add(_stem(sub))
    return telling, words


def test_sources(
    test_ids: list[str], tests_dir: Path, machinery: Collection[str] = ()
) -> dict[str, str]:
    """The source of each fail-to-pass test: its function (Python) or the lines after its
    title (JavaScript), found in the files under ``tests_dir``; else its whole file.
    ``machinery``: files of the verifier that are not tests (a plan listing every test id
    would otherwise pass for each test's source)."""
    files = _all_files(tests_dir, machinery)
    sources: dict[str, str] = {}
    for test_id in test_ids:
        file_part, _, rest = test_id.partition("::")
        name = (rest or test_id).split("::")[-1].split(" > ")[-1]
        name = re.sub(r"\[.*\]$", "", name).strip()
        candidates = [
            text
            for path, text in files.items()
            if PurePosixPath(path).name == PurePosixPath(file_part).name
        ] or list(files.values())
        sources[test_id] = _test_body(name, candidates) or _data_case(name, files) or test_id
    return sources


_MIN_TITLE_CHARS = 12  # shorter tails ("works", "returns") name too many tests
_LINE_NAMED = re.compile(r"\bline (\d+)\b", re.IGNORECASE)


def _data_case(name: str, files: dict[str, str]) -> str:
    """A data-driven test named by where its case starts in a data file ("line 795", as
    markdown-it-testgen names them): the lines of that case in the verifier's data files."""
    found = _LINE_NAMED.search(name)
    if not found:
        return ""
    start = int(found.group(1)) - 1
    cases = [
        "\n".join(text.splitlines()[start : start + 30])
        for path, text in files.items()
        if not CODE_FILE.search(path) and len(text.splitlines()) > start
    ]
    return "\n".join(cases)


def _all_files(tests_dir: Path, machinery: Collection[str] = ()) -> dict[str, str]:
    """Every file under ``tests_dir`` but the verifier's ``machinery``, by relative path."""
    if not tests_dir.is_dir():
        return {}
    files = {}
    for path in sorted(tests_dir.rglob("*")):
        relative = path.relative_to(tests_dir).as_posix()
        if path.is_file() and path.stat().st_size < 2_000_000 and relative not in machinery:
            files[relative] = path.read_text(errors="replace")
    return files


def _test_body(name: str, texts: list[str]) -> str:
    for text in texts:
        found = re.search(
            rf"^([ \t]*)(?:async\s+)?def {re.escape(name)}\b.*?(?=^\1(?:def|class|@)\b|\Z)",
            text,
            re.MULTILINE | re.DOTALL,
        )
        if found:
            return found.group(0)
        index = _title_index(name, text)
        if index >= 0:
            return "\n".join(text[index:].splitlines()[:40])
    return ""


def _title_index(name: str, text: str) -> int:
    """Where the test's title is in ``text``: mocha and jest ids join the describe blocks'
    titles with the test's own ("Validators should validate rgb color strings"), while the
    source names each in its own call; the longest tail of the title found is the test's."""
    words = name.split()
    for start in range(len(words)):
        tail = " ".join(words[start:])
        if len(tail) < _MIN_TITLE_CHARS:
            break
        index = text.find(tail)
        if index >= 0:
            return index
    return -1


def check_agreement(
    instruction: str, test_ids: list[str], tests_dir: Path, machinery: Collection[str] = ()
) -> ValidationCheck:
    """Warning-level check: the fail-to-pass tests share telling terms with the instruction
    (``machinery``: the verifier's own files under ``tests_dir``, which are no tests)."""
    body = instruction.split("The project is in `")[0]
    asked_telling, asked_words = _terms(body)
    # A verifier that names no fail-to-pass tests (a model-written one may not) is compared
    # as a whole: every file it runs.
    sources = (
        test_sources(test_ids, tests_dir, machinery)
        if test_ids
        else _all_files(tests_dir, machinery)
    )
    tested_telling: set[str] = set()
    tested_words: set[str] = set()
    for test_id, source in sources.items():
        telling, words = _terms(source + "\n" + test_id.replace("_", " "))
        tested_telling |= telling
        tested_words |= words
    shared_telling = sorted(asked_telling & tested_telling)
    shared_words = sorted((asked_words & tested_words) - _STOPWORDS)
    evidence = {
        "fail_to_pass": test_ids,
        "shared_terms": shared_telling[:20],
        "shared_words": shared_words[:20],
        "instruction_terms": sorted(asked_telling)[:20],
    }
    if not sources:
        return ValidationCheck(
            name=NAME,
            category="static",
            passed=False,
            severity="warning",
            message="no verifier tests to compare with the instruction",
            evidence=evidence,
        )
    compared = "the fail-to-pass tests" if test_ids else "the verifier's files"
    if shared_telling or len(shared_words) >= MIN_SHARED_WORDS:
        shown = ", ".join(shared_telling[:5] or shared_words[:5])
        return ValidationCheck(
            name=NAME,
            category="static",
            passed=True,
            severity="warning",
            message=f"{compared} exercise what the instruction asks ({shown})",
            evidence=evidence,
        )
    return ValidationCheck(
        name=NAME,
        category="static",
        passed=False,
        severity="warning",
        message=f"{compared} share nothing telling with the instruction "
        f"({len(shared_words)} ordinary word(s)): the verifier may test another change than "
        "the one the user asked for — a human should compare them",
        evidence=evidence,
    )
