"""A dollar budget the factory could not hold is refused before any work starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.factory.build import require_countable_budget
from agents.factory.records import BuildConfig
from harness.errors import ConfigError
from harness.llm import ModelSpec, TokenPrice
from tests.conftest import REPO_ROOT

UNPRICED = "openai/kettle-made-up-model"
LOCAL = "http://127.0.0.1:9/v1"  # never called: the refusal comes first


def build(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.build", "--model", UNPRICED, "--api-base", LOCAL,
         "--out", str(tmp_path / "run"), *options],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def config(**fields: object) -> BuildConfig:
    return BuildConfig(run_id="r", model=ModelSpec.resolve(UNPRICED, LOCAL), **fields)  # type: ignore[arg-type]


def test_an_unpriced_model_with_a_dollar_budget_is_refused_in_one_line(tmp_path: Path) -> None:
    refused = build(tmp_path, "--budget-usd", "5")
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"--budget-usd cannot be held: no price is known for {UNPRICED}" in lines[0]
    assert "--price-in/--price-out" in lines[0] and "--budget-tokens" in lines[0]
    assert not (tmp_path / "run").exists()


def test_half_a_price_is_refused(tmp_path: Path) -> None:
    refused = build(tmp_path, "--budget-usd", "5", "--price-in", "3")
    assert refused.returncode != 0
    assert "--price-in and --price-out go together" in refused.stderr


@pytest.mark.parametrize(
    "fields",
    [
        {"budget_usd": 5.0, "budget_tokens": 2_000_000},  # tokens hold where dollars cannot
        {"budget_tokens": 2_000_000},
        {},
    ],
)
def test_a_budget_that_can_hold_is_accepted(fields: dict[str, object]) -> None:
    require_countable_budget(config(**fields))


def test_a_price_from_the_user_makes_a_dollar_budget_countable() -> None:
    priced = config(budget_usd=5.0, role_budget_usd=1.0)
    assert priced.model is not None
    priced.model = priced.model.model_copy(
        update={"price": TokenPrice(input_per_mtok=1.0, output_per_mtok=2.0)}
    )
    require_countable_budget(priced)
    with pytest.raises(ConfigError, match="--role-budget-usd cannot be held"):
        require_countable_budget(config(role_budget_usd=1.0, budget_tokens=10))
