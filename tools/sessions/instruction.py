"""instruction.md: what the user asked for, in their own words, without giving the fix away.

The instruction is the user's first prompt and their follow-ups, lightly cleaned (tool
noise such as IDE context tags, interrupt markers and pasted environment blocks goes;
paths in the user's workspace become paths under the task's workdir), then one line
saying where the project is. The candidate it reads is already redacted of secrets.

It must not leak the solution: ``find_leaks`` names every commit hash, quoted line of the
fix and hidden test name in a text, and ``compose_instruction`` replaces each of them, and
only them, with a neutral stand-in ("a commit", "a test", "[…]"): the rest of the user's
sentence stays. "Quoted" follows validation's rule: a run of 40 or more characters
(whitespace collapsed) shared with the lines the fix adds. A hash counts only when it names
a commit of the repository (``known_commit``; without one, any token of 7+ hex digits
mixing letters and digits counts). Secrets were redacted before (``redact``).

Nor does it carry the user's identity: home-directory paths lose the user name
(``/home/alice/x`` -> ``/home/user/x``), e-mail addresses become ``user@example.com``,
internal host names (``*.corp``, ``*.internal``, ``*.local``, ...) ``internal.example``.

``instruction_report`` says how much of the user's own text survived; too little (fewer
than 6 words, or under half of them) is no instruction, and qualification sends such a
candidate to a human with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from harness.text import strip_ansi
from tools.sessions.records import Candidate, InstructionReport

SHARED_TEXT_THRESHOLD = 40
MIN_KEPT_WORDS = 6
MIN_KEPT_SHARE = 0.5
COMMIT_STAND_IN = "a commit"
TEST_STAND_IN = "a test"
QUOTE_STAND_IN = "[…]"
MIN_HASH_CHARS = 7
# Titles shorter than this ("works", "adds numbers") are ordinary words, not a test's name.
MIN_TITLE_CHARS = 24
MIN_IDENTIFIER_CHARS = 6

_HASH = re.compile(r"\b[0-9a-fA-F]{7,40}\b")
_TEST_DEF = re.compile(r"\b(?:def|async def)\s+(test\w*)|\bclass\s+(Test\w+)")
_TEST_TITLE = re.compile(r"\b(?:it|test|describe|context|suite)\s*\(\s*(['\"`])(.+?)\1")
_NOISE_TAGS = (
    "environment_details",
    "environment_context",
    "system-reminder",
    "ide_opened_file",
    "ide_selection",
    "ide_diagnostics",
    "file_content",
    "user_instructions",
    "command-name",
    "command-message",
    "command-args",
    "local-command-stdout",
    "local-command-stderr",
    "local-command-caveat",
)
_NOISE_BLOCK = re.compile(
    r"<(" + "|".join(re.escape(tag) for tag in _NOISE_TAGS) + r")\b[^>]*>.*?</\1>", re.DOTALL
)
_NOISE_LINE = re.compile(
    r"^\s*(\[Request interrupted by user[^\]]*\]|\[Pasted text #\d+[^\]]*\]|\[Image #\d+\]"
    r"|\[TASK RESUMPTION\].*|New instructions for task continuation:)\s*$",
    re.IGNORECASE,
)
_WRAPPER_TAGS = re.compile(r"</?(task|feedback|user_message|answer)>")
# Whole follow-ups that carry no intent of their own ("ok", "thanks!", "go ahead").
_ACK_WORDS_TEXT = "ok okay k yes y yep yeah sure thanks thx ty continue proceed lgtm great nice"
_ACK_WORDS = frozenset(f"{_ACK_WORDS_TEXT} perfect cool please".split())
_ACK_PHRASES = frozenset(
    {"thank you", "go on", "go ahead", "looks good", "do it", "keep going", "carry on"}
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])")


def clean_prompt(text: str, *, workspace: str | None = None, workdir: str = "/app") -> str:
    """The user's words without tool noise; workspace paths rewritten under ``workdir``."""
    text = strip_ansi(text.replace("\r\n", "\n"))
    # Noise leaves a mark, so a line that held nothing else goes with it.
    text = _WRAPPER_TAGS.sub("\x00", _NOISE_BLOCK.sub("\x00", text))
    lines = []
    for line in text.splitlines():
        kept = line.replace("\x00", "").rstrip()
        if _NOISE_LINE.match(line) or ("\x00" in line and not kept.strip()):
            continue
        lines.append(kept)
    text = "\n".join(lines)
    if workspace:
        root = workspace.rstrip("/")
        if root:
            text = re.sub(re.escape(root) + r"(?=/|\b)", workdir.rstrip("/") or "/", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def is_acknowledgement(text: str) -> bool:
    """A follow-up that adds nothing to the task: "ok", "thanks!", "go ahead please"."""
    words = re.sub(r"[^a-z ]+", " ", text.lower()).split()
    if not words or len(words) > 4:
        return False
    rest = [word for word in words if word not in _ACK_WORDS]
    return not rest or " ".join(rest) in _ACK_PHRASES


def added_lines(fix_diff: str) -> list[str]:
    """Lines a unified diff adds that it does not also remove or keep (stripped)."""
    added: list[str] = []
    old: set[str] = set()
    for line in fix_diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith("+"):
            added.append(line[1:].strip())
        elif line.startswith(("-", " ")):
            old.add(line[1:].strip())
    return [line for line in dict.fromkeys(added) if line and line not in old]


def names_defined_in_tests(sources: Iterable[str]) -> set[str]:
    """Test function/class names and long test titles defined in test files' text."""
    names: set[str] = set()
    for text in sources:
        for function, klass in _TEST_DEF.findall(text):
            name = function or klass
            if len(name) >= MIN_IDENTIFIER_CHARS:
                names.add(name)
        names.update(title for _quote, title in _TEST_TITLE.findall(text))
    return names


def names_in_test_ids(test_ids: Iterable[str]) -> set[str]:
    """Names inside test ids: ``tests/t.py::TestA::test_b[1]`` -> TestA, test_b;
    ``test/a.test.js::suite > case`` -> suite, case."""
    names: set[str] = set()
    for test_id in test_ids:
        for part in test_id.split("::")[1:]:
            for piece in part.split(" > "):
                names.add(re.sub(r"\[.*\]$", "", piece).strip())
    return {name for name in names if name}


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _shared_run(text: str, source: str, length: int) -> str | None:
    """The first run of ``length``+ characters of ``text`` that also occurs in ``source``."""
    start = 0
    while start + length <= len(text):
        if text[start : start + length] in source:
            end = start + length
            while end < len(text) and text[start : end + 1] in source:
                end += 1
            return text[start:end]
        start += 1
    return None


KnownCommit = Callable[[str], bool]


def _hash_leaks(text: str, known_commit: KnownCommit | None) -> list[str]:
    leaks = []
    for token in _HASH.findall(text):
        if known_commit is not None:
            if known_commit(token):
                leaks.append(token)
            continue
        has_digit = any(c.isdigit() for c in token)
        has_letter = any(c.isalpha() for c in token)
        if len(token) >= MIN_HASH_CHARS and has_digit and has_letter:
            leaks.append(token)
    return leaks


def find_leaks(
    instruction: str,
    fix_diff: str | None,
    test_names: Iterable[str],
    known_commit: KnownCommit | None = None,
) -> list[str]:
    """Every piece of ``instruction`` that gives the fix away, as it appears there:

    * a commit hash: one ``known_commit`` says is a commit of the repository, or (without
      it) any token of 7 to 40 hex digits mixing letters and digits;
    * a run of 40+ characters shared with the lines the fix adds;
    * the name of a hidden test: identifiers as whole words, titles as phrases (titles
      shorter than 24 characters are ordinary words and do not count).
    """
    leaks = _hash_leaks(instruction, known_commit)
    if fix_diff:
        fix_text = _normalize(" ".join(added_lines(fix_diff)))
        run = _shared_run(_normalize(instruction), fix_text, SHARED_TEXT_THRESHOLD)
        if run:
            leaks.append(run)
    lowered = instruction.lower()
    for name in sorted(set(test_names)):
        if " " in name.strip():
            if len(name) >= MIN_TITLE_CHARS and name.lower() in lowered:
                leaks.append(name)
        elif len(name) >= MIN_IDENTIFIER_CHARS and re.search(
            rf"(?<![\w]){re.escape(name)}(?![\w])", instruction
        ):
            leaks.append(name)
    return leaks


def _loose(run: str) -> re.Pattern[str]:
    """A pattern for ``run`` as it may appear with any whitespace (runs are normalized)."""
    parts = [re.escape(word) for word in run.split()]
    # Out to whole words: a run that stops inside a word would leave a stump of it.
    return re.compile(r"\w*" + r"\s+".join(parts) + r"\w*", re.IGNORECASE)


def redact_leaks(
    text: str,
    fix_diff: str | None,
    test_names: Iterable[str],
    known_commit: KnownCommit | None = None,
) -> tuple[str, list[tuple[str, int]]]:
    """``text`` with each leak, and only the leak, replaced by a stand-in; and what was
    replaced, as (kind, words removed) pairs."""
    names = sorted(set(test_names))
    removed: list[tuple[str, int]] = []
    for _ in range(20):  # each round removes at least one leak
        leaks = find_leaks(text, fix_diff, names, known_commit)
        if not leaks:
            break
        leak = leaks[0]
        if _HASH.fullmatch(leak):
            pattern, stand_in, kind = (
                re.compile(rf"\b{re.escape(leak)}\b"),
                COMMIT_STAND_IN,
                "commit",
            )
        elif leak in names:
            pattern = re.compile(rf"(?<![\w]){re.escape(leak)}(?![\w])", re.IGNORECASE)
            stand_in, kind = TEST_STAND_IN, "test name"
        else:
            pattern, stand_in, kind = _loose(leak), QUOTE_STAND_IN, "quote of the fix"
        text, count = pattern.subn(stand_in, text)
        if not count:
            break
        removed += [(kind, len(re.findall(r"\w+", leak)))] * count
    return text, removed


def remove_leaks(
    text: str,
    fix_diff: str | None,
    test_names: Iterable[str],
    known_commit: KnownCommit | None = None,
) -> str:
    """``text`` with every leak replaced by a neutral stand-in (see ``redact_leaks``)."""
    redacted, _removed = redact_leaks(text, fix_diff, test_names, known_commit)
    return "\n\n".join(_balanced_fences(p) for p in re.split(r"\n\s*\n", redacted) if p.strip())


_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b(?![:/])"
)
_HOME = re.compile(r"(?<![\w/])(/home/|/Users/)(?!user\b)([^/\s'\"`]+)")
_WINDOWS_HOME = re.compile(r"(?i)\b([A-Z]:[\\/]Users[\\/])(?!user\b)([^\\/\s'\"`]+)")
_INTERNAL_HOST = re.compile(
    r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:internal|corp|local|lan|intranet|localdomain|private|home\.arpa)\b"
)


def scrub_identity(text: str) -> str:
    """The user's words without who they are: user names in home paths, e-mail addresses,
    internal host names, replaced with neutral stand-ins."""
    text = _EMAIL.sub("user@example.com", text)
    text = _HOME.sub(lambda m: f"{m.group(1)}user", text)
    text = _WINDOWS_HOME.sub(lambda m: f"{m.group(1)}user", text)
    return _INTERNAL_HOST.sub("internal.example", text)


def _balanced_fences(paragraph: str) -> str:
    """A code fence whose other half was dropped would swallow the rest of the text."""
    if paragraph.count("```") % 2:
        return paragraph.replace("```", "")
    return paragraph


def _user_parts(candidate: Candidate, workdir: str) -> list[str]:
    workspace = candidate.workspace_path
    parts = [clean_prompt(candidate.first_prompt, workspace=workspace, workdir=workdir)]
    for follow_up in candidate.follow_ups:
        cleaned = clean_prompt(follow_up, workspace=workspace, workdir=workdir)
        if cleaned and not is_acknowledgement(cleaned) and cleaned not in parts:
            parts.append(cleaned)
    return [scrub_identity(part) for part in parts if part]


def instruction_report(
    candidate: Candidate,
    *,
    workdir: str = "/app",
    fix_diff: str | None = None,
    test_names: Sequence[str] = (),
    known_commit: KnownCommit | None = None,
) -> InstructionReport:
    """instruction.md for ``candidate`` and how much of the user's own text it keeps.

    ``fix_diff`` and ``test_names`` (names and titles of the hidden tests, or test ids)
    make the leak check complete; without them only commit hashes can be caught.
    ``known_commit`` tells which hex tokens are commits of the repository. The prompts
    are the user's voice; a qualifier's summary of them never is.
    """
    names = set(test_names) | names_in_test_ids(test_names)
    original = "\n\n".join(_user_parts(candidate, workdir))
    redacted, removed = redact_leaks(original, fix_diff, names, known_commit)
    body = "\n\n".join(_balanced_fences(p) for p in re.split(r"\n\s*\n", redacted) if p.strip())
    body = body.strip()
    location = f"The project is in `{workdir}`."
    text = f"{body}\n\n{location}\n" if body else f"{location}\n"
    words = len(re.findall(r"\w+", original))
    kept = max(words - sum(count for _, count in removed), 0)
    enough = kept >= MIN_KEPT_WORDS and (not words or kept / words >= MIN_KEPT_SHARE)
    kinds = sorted({kind for kind, _ in removed})
    reason = (
        f"{kept} of the user's {words} words are kept"
        + (f" ({', '.join(kinds)} replaced)" if kinds else "")
        + ("" if enough else ": too little of the user's own text for an instruction")
    )
    return InstructionReport(
        text=text,
        user_words=words,
        kept_words=kept,
        redacted=kinds,
        enough=enough,
        reason=reason,
    )


def compose_instruction(
    candidate: Candidate,
    *,
    workdir: str = "/app",
    fix_diff: str | None = None,
    test_names: Sequence[str] = (),
    known_commit: KnownCommit | None = None,
) -> str:
    """instruction.md for ``candidate``: the user's prompts, where the project is, no leaks
    and no identity (see ``instruction_report``)."""
    return instruction_report(
        candidate,
        workdir=workdir,
        fix_diff=fix_diff,
        test_names=test_names,
        known_commit=known_commit,
    ).text
