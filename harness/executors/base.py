"""Where units of work run: this machine (``local``) or a Ray cluster (``ray``).

A unit of work is one function applied to one folder: a candidate's stage on the
candidate's folder, a seed x builder on the unit's folder. The function builds its own
services (Docker engine, settings) on whichever node runs it, so the work is the same code
either way. Locally it runs in the driver's process on the run folder itself; on Ray the
folder travels to a node with a free Docker slot and its new state comes back
(``harness.executors.folder_transfer``). The driver alone writes ledgers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from harness.errors import ConfigError
from harness.run_budget import BudgetLimits, SharedBudget

PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")

ExecutorKind = Literal["local", "ray"]
# A unit's function: (the unit's folder on this node, its payload) -> a picklable result.
FolderJob = Callable[[Path, PayloadT], ResultT]
# Told about each lost attempt before it is retried: (attempt number, what happened).
RetryNote = Callable[[int, str], None]


class ExecutorConfig(BaseModel):
    schema_version: int = 1
    kind: ExecutorKind = "local"
    ray_address: str | None = Field(
        None,
        description="A running cluster ('auto', 'HOST:6379', 'ray://HOST:10001'); "
        "none starts a private Ray instance on this machine",
    )
    slot_resource: str = Field(
        "docker", description="Ray custom resource a node offers once per sandbox slot"
    )
    local_slots: int = Field(1, ge=1, description="Slots of a private Ray instance (the run's -n)")
    node_retries: int = Field(
        2, ge=0, description="Times a unit is resubmitted after its worker or node was lost"
    )
    slot_wait_sec: float = Field(
        60.0, ge=0, description="How long to wait for a node with Docker slots to join"
    )


class Executor(Protocol):
    name: ExecutorKind
    remote: bool  # units run away from the driver's folders

    def slots(self) -> int:
        """How many units can run at once (sandbox slots over the cluster)."""
        ...

    def budget(self, limits: BudgetLimits) -> SharedBudget:
        """The run's budget, shared by every unit wherever it runs."""
        ...

    def run_in_folder(
        self,
        job: FolderJob[PayloadT, ResultT],
        folder: Path,
        payload: PayloadT,
        *,
        label: str,
        on_retry: RetryNote | None = None,
    ) -> ResultT:
        """Run ``job`` on ``folder``; on return the folder holds the job's outputs."""
        ...

    def cancel_all(self) -> None:
        """Stop every unit in flight and remove its containers (Ctrl-C)."""
        ...

    def close(self) -> None: ...


def make_executor(config: ExecutorConfig, *, run_id: str) -> Executor:
    if config.kind == "local":
        if config.ray_address:
            raise ConfigError("--ray-address needs --executor ray")
        from harness.executors.local import LocalExecutor

        return LocalExecutor(config.local_slots)
    try:
        from harness.executors.ray import RayExecutor
    except ImportError as error:
        raise ConfigError(
            f"--executor ray needs Ray, which is not installed ({error})",
            "pip install 'kettle[ray]' (the same Ray version on every node)",
        ) from error
    return RayExecutor(config, run_id=run_id)
