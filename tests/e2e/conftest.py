"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.ray_support import build_result


@pytest.fixture(scope="session")
def local_build(example_build: Path) -> dict[str, object]:
    """The bundled examples built locally: what every Ray build must reproduce."""
    result = build_result(example_build)
    assert len(result["tasks"]) == 2  # type: ignore[arg-type]
    return result
