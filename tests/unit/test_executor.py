"""Executors and the run budget: where units run, how they are refused, what they spend."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.errors import ConfigError, ExecutorError
from harness.executors.base import ExecutorConfig, make_executor
from harness.executors.local import LocalExecutor
from harness.run_budget import RunBudget


def test_the_local_executor_runs_the_unit_on_the_folder_itself(tmp_path: Path) -> None:
    def job(folder: Path, payload: int) -> int:
        (folder / "out.txt").write_text(str(payload))
        return payload * 2

    executor = LocalExecutor()
    assert executor.run_in_folder(job, tmp_path / "unit", 21, label="test") == 42
    assert (tmp_path / "unit" / "out.txt").read_text() == "21"


def test_a_ray_address_without_the_ray_executor_is_refused() -> None:
    with pytest.raises(ConfigError, match="--executor ray"):
        make_executor(ExecutorConfig(kind="local", ray_address="auto"), run_id="r")


def test_the_run_budget_counts_dollars_and_time_for_every_agent() -> None:
    budget = RunBudget(budget_usd=1.0, wall_sec=3600)
    budget.add(0.4)
    budget.add(0.4)
    assert budget.remaining() == pytest.approx(0.2)
    assert budget.exhausted() is None
    budget.add(0.5)
    assert budget.remaining() == 0.0 and budget.exhausted() == "run_cost"

    out_of_time = RunBudget(budget_usd=None, wall_sec=0.0)
    assert out_of_time.exhausted() == "run_wall_time"
    assert RunBudget(None).exhausted() is None and RunBudget(None).remaining_sec() is None


def test_an_unreachable_cluster_is_a_one_line_error_at_once() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ExecutorError, match="cannot reach the Ray cluster") as raised:
        make_executor(ExecutorConfig(kind="ray", ray_address=f"127.0.0.1:{port}"), run_id="r")
    assert "\n" not in str(raised.value) and "ray start --head" in str(raised.value)


def test_a_malformed_cluster_address_is_refused() -> None:
    with pytest.raises(ExecutorError, match="not HOST:PORT"):
        make_executor(ExecutorConfig(kind="ray", ray_address="nonsense"), run_id="r")


def test_an_unpriced_call_is_not_free_under_a_dollar_budget() -> None:
    budget = RunBudget(budget_usd=100.0)
    budget.add(None, tokens=500)  # a model with no known price: the dollars are unknown
    assert budget.exhausted() == "run_cost_unknown"
    assert RunBudget(budget_usd=None).exhausted() is None  # no dollar budget: nothing to hold


def test_a_token_budget_holds_where_dollars_cannot_be_counted() -> None:
    budget = RunBudget(budget_usd=100.0, budget_tokens=1_000)
    budget.add(None, tokens=600)
    assert budget.exhausted() is None  # the token budget is the one that holds
    budget.add(None, tokens=400)
    assert budget.tokens == 1_000 and budget.exhausted() == "run_tokens"
