"""Find credentials pasted into a session and redact them before anything is written.

Users paste keys into prompts ("here is my key sk-…, why does the call fail?"). Such a
candidate is still good work, so a secret is a flag, not a disqualifier — but the secret
must never reach a later stage, a prompt sent to a model, or a file on disk. ``redact_
candidate`` returns a copy of the Candidate with every string field scrubbed.

Provider keys are matched by their documented shapes. A generic ``password=…``/``token:…``
assignment counts only when the value looks random (long enough, high Shannon entropy, not
a placeholder), so "token = the refresh token" stays readable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from tools.sessions.records import Candidate, SecretFinding


class SecretPattern(BaseModel):
    kind: str
    regex: str
    group: int = 0  # the capture group that is the secret itself (0: the whole match)


SECRET_PATTERNS = (
    SecretPattern(
        kind="private_key",
        regex=r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
    ),
    SecretPattern(kind="anthropic_api_key", regex=r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    SecretPattern(
        kind="openai_api_key", regex=r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    ),
    SecretPattern(kind="aws_access_key_id", regex=r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    SecretPattern(kind="github_token", regex=r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    SecretPattern(kind="github_token", regex=r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"),
    SecretPattern(kind="gitlab_token", regex=r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    SecretPattern(kind="slack_token", regex=r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    SecretPattern(
        kind="slack_webhook",
        regex=r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}",
    ),
    SecretPattern(kind="google_api_key", regex=r"\bAIza[0-9A-Za-z_-]{35}\b"),
    SecretPattern(kind="stripe_key", regex=r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    SecretPattern(kind="huggingface_token", regex=r"\bhf_[A-Za-z0-9]{30,}\b"),
    SecretPattern(kind="npm_token", regex=r"\bnpm_[A-Za-z0-9]{36}\b"),
    SecretPattern(
        kind="jwt",
        regex=r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ),
    SecretPattern(
        kind="url_password",
        regex=r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s/@]{3,})@",
        group=1,
    ),
    SecretPattern(
        kind="assigned_password",
        regex=r"(?i)\b[a-z0-9_]*?(?:password|passwd|pwd)\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;`]{6,})",
        group=1,
    ),
    SecretPattern(
        kind="assigned_secret",
        regex=r"(?i)\b[a-z0-9_]*?(?:secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|"
        r"private[_-]?key)(?:[_-]?(?:key|value|id))?\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;`]{12,})",
        group=1,
    ),
)
_COMPILED = tuple((p, re.compile(p.regex, re.DOTALL)) for p in SECRET_PATTERNS)
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x+|\*+|\.+|<.*>|\$.*|\{\{.*\}\}|%\(.*\)s|.*[(\[{].*|"
    r"(?:os|process|env|settings|config|self|this|ctx|request)\..*|"
    r".*(?:your|example|changeme|placeholder|redacted|dummy|sample|xxxx|\.\.\.).*)$"
)
# Letters with separators but no digits read as words or identifiers ("refresh_token"),
# not as generated credentials.
_WORDS = re.compile(r"^[A-Za-z]+(?:[_.-][A-Za-z]+)*$")
_MIN_ENTROPY_BITS = 3.0
_GENERIC_KINDS = frozenset({"assigned_password", "assigned_secret", "url_password"})
REDACTION = "[REDACTED:{kind}]"


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _char_classes(value: str) -> int:
    return sum(
        bool(re.search(pattern, value)) for pattern in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]")
    )


def _looks_random(value: str, kind: str) -> bool:
    """Whether a value assigned to a secret-sounding name is a real credential.

    Passwords are short and chosen by people: six characters of two kinds are enough.
    Tokens are generated: long, varied, with high entropy.
    """
    if _PLACEHOLDER.match(value) or value.startswith("[REDACTED:"):
        return False
    if kind in {"assigned_password", "url_password"}:
        return len(value) >= 6 and (_char_classes(value) >= 2 or len(value) >= 12)
    if _WORDS.match(value):
        return False
    return _char_classes(value) >= 2 and shannon_entropy(value) >= _MIN_ENTROPY_BITS


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every secret in ``text``, overlaps merged (first kind wins)."""
    spans: list[tuple[int, int, str]] = []
    for pattern, compiled in _COMPILED:
        for match in compiled.finditer(text):
            value = match.group(pattern.group)
            start, end = match.span(pattern.group)
            if pattern.kind in _GENERIC_KINDS and not _looks_random(value, pattern.kind):
                continue
            spans.append((start, end, pattern.kind))
    spans.sort(key=lambda span: (span[0], -span[1]))
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, kind))
    return merged


def redact_text(text: str) -> tuple[str, list[str]]:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``, and the kinds found."""
    spans = _spans(text)
    if not spans:
        return text, []
    pieces: list[str] = []
    cursor = 0
    for start, end, kind in spans:
        pieces += [text[cursor:start], REDACTION.format(kind=kind)]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), [kind for _, _, kind in spans]


def _redact_value(value: Any, where: str, findings: list[SecretFinding]) -> Any:
    if isinstance(value, str):
        redacted, kinds = redact_text(value)
        findings += [SecretFinding(kind=kind, where=where) for kind in kinds]
        return redacted
    if isinstance(value, list):
        return [_redact_value(item, f"{where}[{i}]", findings) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {
            key: _redact_value(item, f"{where}.{key}" if where else key, findings)
            for key, item in value.items()
        }
    return value


def redact_candidate(candidate: Candidate) -> tuple[Candidate, list[SecretFinding]]:
    """A copy of ``candidate`` with secrets redacted in every string field, and where they were.

    Every field is scrubbed, not only the prompts: a key pasted into a follow-up also ends
    up in intervention texts, and a token can ride in a repo URL's user-info.
    """
    findings: list[SecretFinding] = []
    data = candidate.model_dump(mode="json")
    if data.get("repo"):
        data["repo"] = _scrub_repo_url(data["repo"], findings)
    data = _redact_value(data, "", findings)
    return Candidate.model_validate(data), findings


def _scrub_repo_url(url: str, findings: list[SecretFinding]) -> str:
    """Drop credentials from a repo URL's user-info instead of leaving a redaction marker in
    it: the URL without them still names the repository (git's credential helpers supply
    access), while ``https://[REDACTED]@host/…`` would name nothing."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    if ":" not in userinfo and not _spans(userinfo):
        return url  # a plain user name such as ssh's "git@" is no secret
    findings.append(SecretFinding(kind="url_credentials", where="repo"))
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
