"""Evidence that ties a change to what the user said, scored for ranking fix candidates.

The user's side is a set of *terms* from the prompts, the follow-ups and the files the
session touched, each of a kind that says how telling it is:

=========== ====================================================== ======
kind        what                                                   weight
=========== ====================================================== ======
phrase      a quoted or back-ticked text of several words, an      3.0
            error message ("Invalid circular reference")
code        an identifier the user marked as code (`get_hookcallers`) 2.5
identifier  a word shaped like code (snake_case, camelCase, a.b, f()) 2.0
path        a file the user named or the session touched             2.0
value       a quoted value ('plain', "uk.com")                      1.5
number      a bare number (8080, 2024): often a date or a size       0.5
word        any other word, stemmed                                  1.0
subword     a piece of a split identifier (include_psl -> psl)       0.5
=========== ====================================================== ======

A change's side has four fields: its message (a merge's included), the paths it changes,
the lines it changes in source files (with each hunk's enclosing function) and the lines
it adds to test files (new test names and assertions carry the symptom; what a change
removes from a test is what it no longer checks). Terms are
matched per field and scored like BM25F: rarer terms among the candidates count more
(inverse document frequency over the candidates considered), repeats saturate, and each
field is normalized by its length; on top, a change's score is divided by
``sqrt(1 + ln(1 + lines / 50))`` of the lines it changes, so a thousand-line refactor does
not win by mentioning everything, while a fix stays where the user's words point.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from agents.qualify.trivial import path_kind
from tools.sessions.instruction import clean_prompt
from tools.sessions.records import Candidate

TermKind = Literal["phrase", "code", "identifier", "path", "value", "number", "word", "subword"]
Field = Literal["message", "paths", "source", "tests"]
FIELDS: tuple[Field, ...] = ("message", "paths", "source", "tests")

KIND_WEIGHT: dict[str, float] = {
    "phrase": 3.0,
    "code": 2.5,
    "identifier": 2.0,
    "path": 2.0,
    "value": 1.5,
    "number": 0.5,
    "word": 1.0,
    "subword": 0.5,
}
SPECIFIC_KINDS = frozenset({"phrase", "code", "identifier", "path", "value"})
FIELD_WEIGHT: dict[str, float] = {"message": 1.0, "paths": 1.0, "source": 1.0, "tests": 1.0}
_K1 = 1.2
_B = 1.0
# The size at which a change starts to lose points for its spread (see the module doc).
_SPREAD_LINES = 50
# Changed lines beyond this per file are generated data (lock files, snapshots, vendored
# code): their paths count, their text does not.
_MAX_FILE_LINES = 1500

_STOPWORDS_TEXT = (
    "a about above after again against all also am an and any are aren as at be because been "
    "before being below between both but by can cannot could did didn do does doesn doing don "
    "down during each even ever every few for from further get gets getting got had has have "
    "having he her here hers him his how however i if in into is isn it its itself just let "
    "like me more most much must my myself no nor not now of off on once only or other our "
    "out over own same she should so some such than that the their them then there these they "
    "this those through to too under until up upon us very was wasn way we were what when "
    "where which while who whom why will with within without would you your yours yourself "
    "able actually already always another anything around back bit come comes currently "
    "expect expected expecting fine gives give go goes going happen happens hit hmm instead "
    "keep kind know look looks lot made make makes making maybe mean need needs new now ok "
    "okay one ones please pretty probably put really right said say says see seem seems "
    "something still stuff sure take takes tell thing things think though thought tried try "
    "trying two use used uses using want wanted wants well work worked working works yes yet "
    "also app code file files function functions project repo test tests error errors issue "
    "bug fix fixed fixes broken break breaks wrong correct correctly properly behave "
    "behaviour behavior case cases example instead true false none null undefined return "
    "returns returned self this that "
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_CODE_SPAN = re.compile(r"`{1,3}([^`]+?)`{1,3}")
_QUOTED = re.compile(r"(?<![\w])([\"'])([^\"'\n]{1,160}?)\1(?![\w])")
_ERROR_TEXT = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b:\s*([^\n`]{4,160})")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|#|->)[A-Za-z_$][\w$]*)*(\s*\()?")
_FLAG = re.compile(r"(?<![\w-])--?([A-Za-z][\w-]*[A-Za-z0-9])")
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{0,5})(?![\w/])")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w])")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]|[A-Za-z]")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_HUNK = re.compile(r"^@@ [^@]* @@ ?(.*)$")
_LITERAL = re.compile(r'"([^"\\\n]{1,160})"|\'([^\'\\\n]{1,160})\'|`([^`\\\n]{1,160})`')
# Lines longer than this are minified or generated: skipped when reading changes.
_MAX_LINE_CHARS = 400
_SPACES = re.compile(r"\s+")
_CODE_EXTENSIONS_TEXT = (
    ".py .js .mjs .cjs .ts .tsx .jsx .go .rs .java .rb .php .c .h .cpp .json .toml .yaml .yml "
    ".md .rst .txt .cfg .ini .sh .css .html "
)
_CODE_EXTENSIONS = frozenset(_CODE_EXTENSIONS_TEXT.split())


def stem(word: str) -> str:
    """A light stemmer: cases/case, parsed/parsing/parse, entries/entry meet."""
    w = word.lower().replace("'", "")
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + replacement
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def split_identifier(identifier: str) -> list[str]:
    """``include_psl_private_domains`` -> include, psl, private, domains; ``getHookCallers``
    -> get, hook, callers; ``TLDExtract`` -> tld, extract."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", identifier):
        parts += [piece.lower() for piece in _CAMEL.findall(chunk)]
    return [part for part in parts if part]


def looks_like_code(word: str, *, called: bool = False) -> bool:
    """Shaped like an identifier, not a word: snake_case, camelCase, TLDExtract, dotted, f()."""
    core = word.strip("_$")
    if called or any(sep in word for sep in (".", "::", "#", "->")):
        return True
    if "_" in core or "$" in core:
        return True
    if re.search(r"[a-z][A-Z]", core):
        return True
    return bool(re.search(r"[A-Z].*[A-Z]", core) and re.search(r"[a-z]", core))


def normalize_text(text: str) -> str:
    """Lower case, one space, straight quotes: what phrases are matched against."""
    text = text.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"')
    return _SPACES.sub(" ", text.replace("\u201d", '"').lower()).strip()


@dataclass(frozen=True)
class Term:
    text: str
    kind: TermKind

    @property
    def weight(self) -> float:
        return KIND_WEIGHT[self.kind]


@dataclass
class UserWords:
    """The terms of the user's words, and where they came from (for the record)."""

    terms: dict[Term, str] = field(default_factory=dict)  # term -> origin
    _by_text: dict[str, Term] = field(default_factory=dict)

    def add(self, term: Term, origin: str) -> None:
        """Keep each text once, as its most telling kind (`updated_at` in back-ticks and
        bare in the same prompt is one term)."""
        if len(term.text) < 2 or term.text in _STOPWORDS:
            return
        if term.kind in ("word", "subword") and (len(term.text) < 3 or term.text.isdigit()):
            return
        known = self._by_text.get(term.text)
        if known is not None:
            if known.weight >= term.weight:
                return
            origin = self.terms.pop(known)
        self._by_text[term.text] = term
        self.terms[term] = origin


def _add_identifier(words: UserWords, raw: str, origin: str, *, marked: bool, called: bool) -> None:
    name = raw.strip().rstrip("(").strip()
    if not name:
        return
    pieces = [p for p in re.split(r"\.|::|#|->", name) if p]
    code_shaped = marked or looks_like_code(name, called=called)
    if not code_shaped:
        words.add(Term(stem(name), "word"), origin)
        return
    kind: TermKind = "code" if marked else "identifier"
    for piece in pieces:
        lowered = piece.lower()
        if lowered in _STOPWORDS or len(lowered) < 3:
            continue
        words.add(Term(lowered, kind), origin)
        for sub in split_identifier(piece):
            if sub != lowered:
                words.add(Term(stem(sub), "subword"), origin)


def _add_text(words: UserWords, text: str, origin: str) -> None:
    spans = [m.group(1) for m in _CODE_SPAN.finditer(text)]
    outside = _CODE_SPAN.sub(" ", text)
    quoted = [m.group(2) for m in _QUOTED.finditer(outside)]
    _add_errors(words, outside, origin)
    for span in spans:
        _add_marked(words, span, origin)
    for value in quoted:
        _add_marked(words, value, origin, quoted=True)
    for match in _PATH.finditer(text):
        path = match.group(1)
        if PurePosixPath(path).suffix.lower() in _CODE_EXTENSIONS:
            words.add(Term(PurePosixPath(path).name.lower(), "path"), origin)
    for match in _FLAG.finditer(outside):
        words.add(Term(match.group(1).lower(), "code"), origin)
    for match in _IDENT.finditer(outside):
        _add_identifier(words, match.group(0), origin, marked=False, called=bool(match.group(1)))
    for match in _NUMBER.finditer(outside):
        if len(match.group(1)) >= 2:
            words.add(Term(match.group(1), "number"), origin)
    for word in _WORD.findall(text):
        if word.isalpha() and not looks_like_code(word):
            words.add(Term(stem(word), "word"), origin)


def _message_phrases(message: str) -> list[str]:
    """The fixed parts of an error message: the runs of words between the values a program
    fills in (quoted names, numbers), e.g. 'Parameter "--tags" requires an argument.' ->
    "requires an argument"."""
    pieces = re.split(r"[\"'`][^\"'`]*[\"'`]|\d+(?:\.\d+)*|[:;()\[\]{}<>=]", message)
    phrases = []
    for piece in pieces:
        text = normalize_text(piece).strip(" .,!?-")
        if len(text.split()) >= 2 and len(text) >= 8:
            phrases.append(text)
    return phrases


def _add_errors(words: UserWords, text: str, origin: str) -> None:
    """``SomeError: message``: the error's name, the message and its fixed parts."""
    for match in _ERROR_TEXT.finditer(text):
        words.add(Term(match.group(1).lower(), "code"), origin)
        message = normalize_text(match.group(2)).rstrip(".,;:")
        if len(message.split()) >= 2:
            words.add(Term(message, "phrase"), origin)
        for phrase in _message_phrases(match.group(2)):
            words.add(Term(phrase, "phrase"), origin)


_CODE_SYNTAX = re.compile(r"[(){}\[\]=]|\w\.\w|::|->|=>")


def _add_marked(words: UserWords, span: str, origin: str, *, quoted: bool = False) -> None:
    """A back-ticked or quoted span: a phrase, a value, or code to take apart."""
    text = span.strip()
    if not text:
        return
    plain_words = text.split()
    prose = all(re.fullmatch(r"[A-Za-z][A-Za-z'-]*[,.:;!?]?", w) for w in plain_words)
    if len(plain_words) >= 2 and prose:
        words.add(Term(normalize_text(text).rstrip(".,;:!?"), "phrase"), origin)
        return
    if len(plain_words) == 1 and not re.search(r"[(){}\[\]=,]", text):
        token = plain_words[0]
        if re.fullmatch(r"--?[A-Za-z][\w-]*", token):
            words.add(Term(token.lstrip("-").lower(), "code"), origin)
        elif quoted:
            # A quoted token is a value the program handles ('foo.uk.com', 'NOT_FOUND').
            words.add(Term(token.lower(), "value"), origin)
            if looks_like_code(token):
                _add_identifier(words, token, origin, marked=False, called=False)
        elif re.fullmatch(r"[A-Za-z_$][\w$.:#-]*", token):
            _add_identifier(words, token, origin, marked=True, called=False)
        else:
            words.add(Term(token.lower(), "value"), origin)
        return
    _add_errors(words, text, origin)
    for literal in _LITERAL.finditer(text):
        value = next(group for group in literal.groups() if group is not None).strip()
        if value:
            kind: TermKind = "phrase" if len(value.split()) >= 2 else "value"
            words.add(Term(normalize_text(value), kind), origin)
    for flag in _FLAG.finditer(text):
        words.add(Term(flag.group(1).lower(), "code"), origin)
    # In a code snippet every name is code; in a back-ticked message only code-shaped ones.
    code = bool(_CODE_SYNTAX.search(_LITERAL.sub(" ", text)))
    for match in _IDENT.finditer(_LITERAL.sub(" ", text)):
        _add_identifier(words, match.group(0), origin, marked=code, called=bool(match.group(1)))
    for match in _NUMBER.finditer(text):
        if len(match.group(1)) >= 2:
            words.add(Term(match.group(1), "number"), origin)


def user_words(candidate: Candidate) -> UserWords:
    """The terms of the user's prompts and follow-ups, and of the files the session touched."""
    words = UserWords()
    for index, prompt in enumerate(candidate.prompts):
        origin = "prompt" if index == 0 else f"follow-up {index}"
        _add_text(words, clean_prompt(prompt), origin)
    for path in candidate.files_touched:
        words.add(Term(path.removeprefix("./").lower(), "path"), "files touched")
    return words


# --- the change's side ------------------------------------------------------------------


@dataclass
class FieldText:
    """One field of a change: its tokens (with counts) and its text, for phrases."""

    tokens: Counter[str] = field(default_factory=Counter)
    text: str = ""

    @property
    def length(self) -> int:
        return sum(self.tokens.values())


@dataclass
class ChangeText:
    """What a change says, by field."""

    fields: dict[str, FieldText]
    paths: list[str]
    changed_lines: int = 0  # lines of source and tests it really changes

    @property
    def fingerprint(self) -> str:
        """What the change does to source and tests: equal for a cherry-picked copy."""
        return self.fields["source"].text + "\n" + self.fields["tests"].text


@functools.lru_cache(maxsize=65536)
def _tokens_of(name: str) -> tuple[str, ...]:
    """An identifier as tokens: each dotted piece whole (lower case), then its stemmed parts."""
    tokens: list[str] = []
    for piece in re.split(r"\.|::|#|->", name):
        if piece:
            tokens.append(piece.lower())
            tokens += [stem(sub) for sub in split_identifier(piece)]
    return tuple(tokens)


def _tokenize(text: str, into: Counter[str]) -> None:
    for match in _IDENT.finditer(text):
        into.update(_tokens_of(match.group(0).rstrip("(").strip()))
    for match in _NUMBER.finditer(text):
        into[match.group(1)] += 1
    for match in _FLAG.finditer(text):
        into[match.group(1).lower()] += 1


def _literals(text: str, into: Counter[str]) -> None:
    for match in _LITERAL.finditer(text):
        value = next(group for group in match.groups() if group is not None).strip().lower()
        if value and len(value) <= 80:
            into[value] += 1


def change_text(message: str, paths: list[str], patch: str) -> ChangeText:
    """The fields of one change: its message, paths and the lines its patch changes."""
    fields = {name: FieldText() for name in FIELDS}
    fields["message"].text = normalize_text(message)
    _tokenize(message, fields["message"].tokens)
    _literals(message, fields["message"].tokens)
    for path in paths:
        tokens = fields["paths"].tokens
        tokens[path.lower()] += 1
        tokens[PurePosixPath(path).name.lower()] += 1
        _tokenize(path.replace("/", " ").replace("-", "_"), tokens)
    fields["paths"].text = normalize_text(" ".join(paths))
    lines: dict[str, list[str]] = {"source": [], "tests": []}
    for path, changed in _patch_files(patch):
        kind = path_kind(path)
        target = "tests" if kind == "test" else "source" if kind == "source" else None
        if target is None or len(changed) > _MAX_FILE_LINES:
            continue
        kept = _really_changed(changed, added_only=target == "tests")
        lines[target] += [line for line in kept if len(line) <= _MAX_LINE_CHARS]
    changed_lines = sum(len(changed) for changed in lines.values())
    for name, changed in lines.items():
        text = "\n".join(changed)
        fields[name].text = normalize_text(text)
        _tokenize(text, fields[name].tokens)
        _literals(text, fields[name].tokens)
    return ChangeText(fields=fields, paths=paths, changed_lines=changed_lines)


def _really_changed(lines: list[str], *, added_only: bool = False) -> list[str]:
    """A file's changed lines without those it only re-indents, re-wraps or moves: a line
    removed and added again (whitespace aside) says nothing about what the change does.
    ``added_only`` keeps what the change adds (a test's removed lines are what it no
    longer checks)."""
    removed = Counter(_SPACES.sub("", line[1:]) for line in lines if line.startswith("-"))
    added = Counter(_SPACES.sub("", line[1:]) for line in lines if line.startswith("+"))
    same = removed & added
    kept = []
    for line in lines:
        if line[:1] in ("+", "-"):
            key = _SPACES.sub("", line[1:])
            if same[key] > 0 or (added_only and line.startswith("-")):
                continue
            kept.append(line[1:])
        else:
            kept.append(line)
    return kept


def _patch_files(patch: str) -> list[tuple[str, list[str]]]:
    """(path, changed lines with their +/- and hunk contexts) per file of a zero-context
    diff."""
    files: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current = None
        elif line.startswith("+++ "):
            raw = line[4:].strip()
            path = raw[2:] if raw[:2] in ("a/", "b/") else raw
            current = []
            files.append((path, current))
        elif line.startswith("--- "):
            if current is None:
                continue
        elif current is not None:
            hunk = _HUNK.match(line)
            if hunk:
                if hunk.group(1).strip():
                    current.append(hunk.group(1))
            elif line[:1] in ("+", "-"):
                current.append(line)
    return files


# --- scoring ----------------------------------------------------------------------------


@dataclass
class Match:
    term: Term
    origin: str
    fields: list[str]
    idf: float
    points: float


def _term_frequency(term: Term, field_text: FieldText, name: str) -> float:
    if term.kind == "phrase":
        return float(min(field_text.text.count(term.text), 5))
    if term.kind == "path":
        if name != "paths":
            base = PurePosixPath(term.text).name
            return 0.5 * min(field_text.text.count(base), 3) if name != "message" else 0.0
        basename = PurePosixPath(term.text).name
        if "/" in term.text:
            exact = any(
                path == term.text
                or path.endswith("/" + term.text)
                or term.text.endswith("/" + path)
                for path in field_text.text.split(" ")
            )
            return 1.0 if exact else 0.0
        return float(field_text.tokens.get(basename, 0) > 0)
    if term.kind in ("code", "identifier"):
        exact = field_text.tokens.get(term.text, 0)
        if exact:
            return float(exact)
        return 0.5 * min(field_text.text.count(term.text), 3) if len(term.text) >= 5 else 0.0
    if term.kind in ("value", "number"):
        exact = field_text.tokens.get(term.text, 0)
        if exact:
            return float(exact)
        return 0.5 * min(field_text.text.count(term.text), 3) if len(term.text) >= 4 else 0.0
    return float(field_text.tokens.get(term.text, 0))


@dataclass
class Scored:
    """A change's evidence: its score and the matches it was made of."""

    score: float
    matches: list[Match]
    coverage: float = 0.0  # the score's share of what a change matching every term would get

    @property
    def specific(self) -> float:
        """Points from terms more telling than words."""
        return sum(m.points for m in self.matches if m.term.kind in SPECIFIC_KINDS)


class Scorer:
    """BM25F scores for the user's terms; IDF and field lengths come from the changes it
    was built on (the candidates), so a range made of them later is scored on one scale."""

    def __init__(self, words: UserWords, changes: list[ChangeText]) -> None:
        self.words = words
        count = max(len(changes), 1)
        self.count = len(changes)
        self.average = {
            name: max(sum(c.fields[name].length for c in changes) / count, 1.0) for name in FIELDS
        }
        self.document_frequency: Counter[Term] = Counter()
        for change in changes:
            for term in self._found(change):
                self.document_frequency[term] += 1

    def _found(self, change: ChangeText) -> dict[Term, dict[str, float]]:
        per_term: dict[Term, dict[str, float]] = {}
        for term in self.words.terms:
            found = {}
            for name in FIELDS:
                tf = _term_frequency(term, change.fields[name], name)
                if tf:
                    found[name] = tf
            if found:
                per_term[term] = found
        return per_term

    @property
    def ideal(self) -> float:
        """The score a small change with every one of the user's terms would approach."""
        return sum(term.weight * self.idf(term) * (_K1 + 1) for term in self.words.terms)

    def idf(self, term: Term) -> float:
        df = min(max(self.document_frequency[term], 1), max(self.count, 1))
        return math.log(1 + (max(self.count, 1) - df + 0.5) / (df + 0.5))

    def score(self, change: ChangeText) -> Scored:
        matches = []
        total = 0.0
        for term, found in self._found(change).items():
            weighted = 0.0
            for name, tf in found.items():
                norm = 1 - _B + _B * change.fields[name].length / self.average[name]
                weighted += FIELD_WEIGHT[name] * tf / max(norm, 0.1)
            idf = self.idf(term)
            points = term.weight * idf * weighted * (_K1 + 1) / (weighted + _K1)
            total += points
            matches.append(
                Match(term, self.words.terms[term], sorted(found), round(idf, 3), points)
            )
        spread = math.sqrt(1 + math.log1p(change.changed_lines / _SPREAD_LINES))
        for match in matches:
            match.points /= spread
        matches.sort(key=lambda m: -m.points)
        ideal = self.ideal
        coverage = total / spread / ideal if ideal > 0 else 0.0
        return Scored(round(total / spread, 3), matches, round(coverage, 4))
