"""tools.sessions.common: the helpers every session parser relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.sessions.common import candidate_id, parse_timestamp, patch_paths, repo_relative


@pytest.mark.parametrize(
    ("path", "workspace", "expected"),
    [
        ("src/app.py", "/ws", "src/app.py"),
        ("./src//app.py", "/ws", "src/app.py"),
        ("/ws/src/app.py", "/ws", "src/app.py"),
        ("/ws/src/app.py", "/ws/", "src/app.py"),
        ("/wsx/app.py", "/ws", None),
        ("/ws", "/ws", None),
        ("/etc/passwd", "/ws", None),
        ("/ws/src/app.py", None, None),
        ("../other/app.py", "/ws", None),
        ("src/../../app.py", "/ws", None),
        ("src/../app.py", "/ws", "app.py"),
        ("src\\app.py", "C:\\Users\\al\\ws", "src/app.py"),
        ("c:\\users\\al\\ws\\src\\app.py", "C:\\Users\\al\\ws", "src/app.py"),
        ("", "/ws", None),
        ("a\x00b", "/ws", None),
    ],
)
def test_repo_relative_keeps_only_paths_inside_the_workspace(path, workspace, expected):
    assert repo_relative(path, workspace) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01T00:30:00.123Z", datetime(2025, 1, 1, 0, 30, 0, 123000, tzinfo=UTC)),
        ("2025-01-01T02:30:00+02:00", datetime(2025, 1, 1, 0, 30, tzinfo=UTC)),
        ("2025-01-01T00:30:00", datetime(2025, 1, 1, 0, 30, tzinfo=UTC)),
        (1735691400000, datetime(2025, 1, 1, 0, 30, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
        (10**30, None),
        (float("inf"), None),
        ("1970-01-01T00:00:00Z", None),
        (None, None),
    ],
)
def test_timestamps_parse_to_aware_utc_or_nothing(value, expected):
    assert parse_timestamp(value) == expected


def test_patch_paths_lists_every_file_of_an_apply_patch_envelope():
    patch = (
        "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n"
        "*** Add File: src/b.py\n+z\n*** Delete File: src/c.py\n"
        "*** Update File: src/d.py\n*** Move to: src/e.py\n*** End Patch"
    )
    assert patch_paths(patch) == ["src/a.py", "src/b.py", "src/c.py", "src/d.py", "src/e.py"]
    assert patch_paths("*** Update File: x.py") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5d6c8a8e-2f0b", "codex-5d6c8a8e-2f0b"),
        ("../../etc/passwd", "codex-etc-passwd"),
        ("a b/c", "codex-a-b-c"),
    ],
)
def test_candidate_ids_are_filesystem_safe(raw, expected):
    assert candidate_id("codex", raw) == expected


def test_a_candidate_id_is_never_empty():
    assert candidate_id("codex", "///", fallback="x").startswith("codex-")
    assert len(candidate_id("codex", "///", fallback="x")) > len("codex-")
