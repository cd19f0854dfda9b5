"""tools.sessions.redact: credentials in prompts are found, flagged and redacted."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.qualify.baseline import check_secrets
from tools.sessions.records import Candidate, CandidateHints, UserIntervention
from tools.sessions.redact import redact_candidate, redact_text

ANTHROPIC = "sk-ant-api03-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7" * 2
OPENAI = "sk-proj-" + "x7Yb2Qm9Lk4Rt8Vn3Hs6Jd1" * 2
AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
SLACK = "xoxb-123456789012-abcdefABCDEF"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        (ANTHROPIC, "anthropic_api_key"),
        (OPENAI, "openai_api_key"),
        (AWS, "aws_access_key_id"),
        (GITHUB, "github_token"),
        (GITHUB_PAT, "github_token"),
        (SLACK, "slack_token"),
        (PRIVATE_KEY, "private_key"),
    ],
)
def test_provider_keys_are_redacted_with_their_kind(secret: str, kind: str) -> None:
    text = f"here is my key: {secret} — why does the request fail?"
    redacted, kinds = redact_text(text)
    assert secret not in redacted
    assert kinds == [kind]
    assert redacted == f"here is my key: [REDACTED:{kind}] — why does the request fail?"


def test_a_private_key_without_its_end_line_is_redacted_to_the_end() -> None:
    redacted, _ = redact_text("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKCAQEA")
    assert redacted == "key:\n[REDACTED:private_key]"


@pytest.mark.parametrize(
    "text",
    [
        'DB_PASSWORD="Zx8!kq2Lm9vP"',
        "password=hunter22",
        "client_secret: 8Q~xYz12abcDEF34ghi",
        'SECRET_KEY = "a8f5f167f44f4964e6c998dee827110c"',
        "postgres://admin:pa55Wd_x9@db:5432/app",
    ],
)
def test_assigned_secrets_with_random_values_are_redacted(text: str) -> None:
    redacted, kinds = redact_text(text)
    assert kinds
    assert "[REDACTED:" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "the token = refresh_token_value",
        'api_key="your-api-key-here"',
        "password = os.environ['DB_PASSWORD']",
        "AUTH_TOKEN=${TOKEN}",
        "token = getToken()",
        "Fix the tokenizer so sk-learn style names parse",
        "password: <password>",
    ],
)
def test_ordinary_prose_and_placeholders_are_left_alone(text: str) -> None:
    assert redact_text(text) == (text, [])


_ALNUM = string.ascii_letters + string.digits
_KEYS = st.one_of(
    st.text(_ALNUM, min_size=40, max_size=60).map(lambda s: "sk-ant-api03-" + s),
    st.text(_ALNUM, min_size=36, max_size=40).map(lambda s: "ghp_" + s),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
        lambda s: "AKIA" + s
    ),
)
_PROSE = st.text(string.ascii_letters + " .,\n", max_size=80)


@given(before=_PROSE, key=_KEYS, after=_PROSE)
def test_a_generated_key_never_survives_redaction(before: str, key: str, after: str) -> None:
    redacted, kinds = redact_text(f"{before} {key} {after}")
    assert key not in redacted
    assert kinds


@given(text=st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once, _ = redact_text(text)
    assert redact_text(once)[0] == once


def _candidate() -> Candidate:
    return Candidate(
        id="c1",
        source_format="claude_code",
        source_path="/sessions/c1.jsonl",
        repo=f"https://x-access-token:{GITHUB}@github.com/acme/app.git",
        start_commit="abc1234",
        first_prompt=f"Use ANTHROPIC_API_KEY={ANTHROPIC} and fix the retry loop",
        follow_ups=["also it fails with", f"aws key {AWS} in region us-east-1"],
        user_interventions=[UserIntervention(kind="feedback", text=f"my slack token {SLACK}")],
        files_touched=["src/retry.py"],
        hints=CandidateHints(fix_commit="def5678"),
    )


def test_redacted_candidate_holds_no_secret_in_any_field() -> None:
    original = _candidate()
    redacted, findings = redact_candidate(original)
    dumped = redacted.model_dump_json()
    for secret in (ANTHROPIC, AWS, GITHUB, SLACK):
        assert secret not in dumped
    assert redacted.repo == "https://github.com/acme/app.git"
    assert redacted.first_prompt == (
        "Use ANTHROPIC_API_KEY=[REDACTED:anthropic_api_key] and fix the retry loop"
    )
    assert redacted.follow_ups[0] == "also it fails with"
    assert redacted.files_touched == ["src/retry.py"]
    assert redacted.hints.fix_commit == "def5678"
    assert {f.where for f in findings} == {
        "repo",
        "first_prompt",
        "follow_ups[1]",
        "user_interventions[0].text",
    }
    assert ANTHROPIC in original.first_prompt  # the input is not modified


def test_plain_ssh_user_in_a_repo_url_is_kept() -> None:
    candidate = _candidate().model_copy(update={"repo": "ssh://git@github.com/acme/app.git"})
    redacted, _ = redact_candidate(candidate)
    assert redacted.repo == "ssh://git@github.com/acme/app.git"


def test_secret_check_flags_without_failing() -> None:
    _, findings = redact_candidate(_candidate())
    result = check_secrets(findings)
    assert result.passed is True
    assert result.code == "secret_in_prompt"
    assert ANTHROPIC not in result.model_dump_json()
    clean = check_secrets([])
    assert (clean.passed, clean.code) == (True, None)
