"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.e2e.ray_support import BUILD, build_result, run, succeeded


@pytest.fixture(scope="session")
def local_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The bundled examples built locally: what every Ray build must reproduce."""
    run_dir = tmp_path_factory.mktemp("local") / "run"
    succeeded(run(BUILD, "--out", str(run_dir)))
    result = build_result(run_dir)
    assert len(result["tasks"]) == 2  # type: ignore[arg-type]
    return result
