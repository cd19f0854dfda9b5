"""Units of work on a Ray cluster: one Docker slot each, on the node that runs them.

Each node offers a custom resource (``docker: N``, its sandbox slots); a unit asks for one
slot, so Ray bounds how many units share a node's Docker engine. The unit's folder goes to
the node as an archive, the work runs there against that node's engine (images the node
lacks are built there, into its own layer cache), and the folder's new state comes back to
the driver, which alone writes the ledger.

Failure semantics: a unit whose worker process or node is lost is resubmitted, up to
``node_retries`` times, and each loss is reported to the caller (the ledger records it).
A unit that fails for its own reasons returns a failed outcome and is not retried here.
Ctrl-C force-cancels the units in flight and removes this run's containers on every node.
The run's budget lives in one actor, so dollars and wall time hold across the cluster.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import (
    LocalRayletDiedError,
    NodeDiedError,
    ObjectLostError,
    OutOfMemoryError,
    RaySystemError,
    RayTaskError,
    TaskCancelledError,
    WorkerCrashedError,
)
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from harness.errors import ExecutorCancelled, ExecutorError
from harness.executors.base import (
    ExecutorConfig,
    ExecutorKind,
    FolderJob,
    PayloadT,
    ResultT,
    RetryNote,
)
from harness.executors.folder_transfer import pack_folder, restore_folder, unpack_folder
from harness.fsio import file_lock
from harness.machine.base_image import ensure_base_image
from harness.run_budget import BudgetKind, BudgetLimits, RunBudget
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings

log = logging.getLogger(__name__)

# The worker or its node went away: the unit itself did nothing wrong, run it elsewhere.
_LOST = (
    WorkerCrashedError,
    NodeDiedError,
    ObjectLostError,
    LocalRayletDiedError,
    OutOfMemoryError,
    RaySystemError,
)
_REAP_TIMEOUT_SEC = 120.0
_CONNECT_TIMEOUT_SEC = 5.0
_SCRATCH_OWNER = ".owner.lock"
_SCRATCH_GRACE_SEC = 60.0


class RayExecutor:
    name: ExecutorKind = "ray"
    remote = True

    def __init__(self, config: ExecutorConfig, *, run_id: str) -> None:
        self.config, self.run_id = config, run_id
        self._lock = threading.Lock()
        self._in_flight: set[ray.ObjectRef] = set()
        self._cancelled = threading.Event()
        self._connect()
        self._run_unit = ray.remote(_run_unit_on_node).options(
            num_cpus=0,
            resources={config.slot_resource: 1},
            max_retries=0,  # losses are retried here, where they can be recorded
            retry_exceptions=False,
        )
        if not self._wait_for_slots():
            self.close()
            raise ExecutorError(
                f"no node of the Ray cluster offers the {config.slot_resource!r} resource",
                f"start nodes with `ray start ... --resources '{{\"{config.slot_resource}\": 2}}'`"
                " (one per sandbox slot)",
            )
        self._reap_everywhere(everything=False)  # left by a crashed earlier run

    def _connect(self) -> None:
        common: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        address = self.config.ray_address
        if address and address != "auto":
            _check_reachable(address)  # Ray itself would retry an unreachable head for minutes
        try:
            with warnings.catch_warnings():  # Ray's notices about GPUs kettle never asks for
                warnings.simplefilter("ignore", FutureWarning)
                if address:
                    ray.init(address=address, **common)
                    return
                ray.init(
                    resources={self.config.slot_resource: self.config.local_slots},
                    include_dashboard=False,
                    # No dashboard, so no metrics agent to export to: do not try.
                    _system_config={"enable_metrics_collection": False},
                    **common,
                )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ExecutorError(
                f"cannot reach the Ray cluster at {address}: {_one_line(error)}",
                "start one with `ray start --head --resources '{\"docker\": 2}'`, "
                "or fix --ray-address",
            ) from error

    def slots(self) -> int:
        return int(ray.cluster_resources().get(self.config.slot_resource, 0))

    def _wait_for_slots(self) -> bool:
        """Worker nodes may still be joining (an autoscaler, a cluster just started)."""
        if self.slots() > 0:
            return True
        log.warning(
            "waiting up to %.0f s for a node with the %r resource to join the cluster",
            self.config.slot_wait_sec,
            self.config.slot_resource,
        )
        deadline = time.monotonic() + self.config.slot_wait_sec
        while time.monotonic() < deadline:
            time.sleep(1.0)
            if self.slots() > 0:
                return True
        return False

    def budget(self, limits: BudgetLimits) -> RayBudget:
        # On the driver's own node: a worker node may be lost, the run's spending must not.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        keeper = (
            ray.remote(_BudgetKeeper).options(num_cpus=0, scheduling_strategy=here).remote(limits)
        )
        return RayBudget(keeper)

    def run_in_folder(
        self,
        job: FolderJob[PayloadT, ResultT],
        folder: Path,
        payload: PayloadT,
        *,
        label: str,
        on_retry: RetryNote | None = None,
    ) -> ResultT:
        restore_folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        packed = ray.put(pack_folder(folder))
        attempt = 0
        while True:
            attempt += 1
            if self._cancelled.is_set():
                raise ExecutorCancelled(f"{label}: interrupted")
            reference = self._run_unit.remote(job, packed, payload, folder.name)
            with self._lock:
                self._in_flight.add(reference)
            try:
                result, returned, node = ray.get(reference)
            except TaskCancelledError as error:
                raise ExecutorCancelled(f"{label}: interrupted") from error
            except _LOST as error:
                if self._cancelled.is_set():
                    raise ExecutorCancelled(f"{label}: interrupted") from error
                what = f"attempt {attempt} lost its worker: {_one_line(error)}"
                log.warning("%s: %s", label, what)
                if attempt > self.config.node_retries:
                    raise ExecutorError(
                        f"{label}: lost its worker {attempt} times (last: {_one_line(error)})"
                    ) from error
                if on_retry is not None:
                    on_retry(attempt, what)
                self._reap_everywhere(everything=False)  # the lost worker's containers
                continue
            except RayTaskError as error:  # a bug in the unit's wrapper, not in its work
                cause = getattr(error, "cause", None) or error
                raise ExecutorError(f"{label}: failed on a worker: {_one_line(cause)}") from error
            finally:
                with self._lock:
                    self._in_flight.discard(reference)
            log.info("%s ran on %s", label, node)
            unpack_folder(returned, folder)
            return result

    def cancel_all(self) -> None:
        self._cancelled.set()
        with self._lock:
            in_flight = list(self._in_flight)
        for reference in in_flight:
            ray.cancel(reference, force=True)  # a unit's worker may be blocked in Docker I/O
        self._reap_everywhere(everything=True)

    def close(self) -> None:
        if not ray.is_initialized():
            return
        try:
            if not self._cancelled.is_set():
                self._reap_everywhere(everything=False)
        finally:
            ray.shutdown()

    def _reap_everywhere(self, *, everything: bool) -> None:
        """Remove this run's containers on every node: all of them (Ctrl-C), or those whose
        owning worker is gone."""
        reaper = ray.remote(_reap_on_node)
        references = [
            reaper.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote(self.run_id, everything)
            for node in ray.nodes()
            if node.get("Alive") and node.get("Resources", {}).get(self.config.slot_resource)
        ]
        ready, late = ray.wait(references, num_returns=len(references), timeout=_REAP_TIMEOUT_SEC)
        for reference in ready:
            try:
                removed = ray.get(reference)
            except Exception as error:  # a node without a Docker engine: say so, go on
                log.warning("could not clean up containers on a node: %s", _one_line(error))
                continue
            if removed:
                log.info("removed %d container(s) of run %s", removed, self.run_id)
        if late:
            log.warning("%d node(s) did not answer the container clean-up in time", len(late))


class _BudgetKeeper:
    """The actor holding a run's budget (one per run, on the cluster)."""

    def __init__(self, limits: BudgetLimits) -> None:
        self._budget = RunBudget.of(limits)

    def add(self, dollars: float | None, tokens: int = 0) -> None:
        self._budget.add(dollars, tokens)

    def spent(self) -> float:
        return self._budget.spent

    def remaining(self) -> float | None:
        return self._budget.remaining()

    def remaining_sec(self) -> float | None:
        return self._budget.remaining_sec()

    def exhausted(self) -> BudgetKind | None:
        return self._budget.exhausted()


class RayBudget:
    """A run's budget as seen from the driver or any worker: every call asks the actor."""

    def __init__(self, keeper: Any) -> None:
        self._keeper = keeper

    def add(self, dollars: float | None, tokens: int = 0) -> None:
        ray.get(self._keeper.add.remote(dollars, tokens))

    @property
    def spent(self) -> float:
        return float(ray.get(self._keeper.spent.remote()))

    def remaining(self) -> float | None:
        return ray.get(self._keeper.remaining.remote())

    def remaining_sec(self) -> float | None:
        return ray.get(self._keeper.remaining_sec.remote())

    def exhausted(self) -> BudgetKind | None:
        return ray.get(self._keeper.exhausted.remote())


def _run_unit_on_node(
    job: FolderJob[PayloadT, ResultT], packed: bytes, payload: PayloadT, folder_name: str
) -> tuple[ResultT, bytes, str]:
    """On the worker: the folder lands on scratch disk, the job runs, its state goes back."""
    settings = Settings.from_env()
    _prepare_node(settings)
    scratch_root = settings.home / "ray-scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    _sweep_stale_scratch(scratch_root)
    scratch = Path(tempfile.mkdtemp(prefix="unit-", dir=scratch_root))
    with (scratch / _SCRATCH_OWNER).open("w") as owner:
        fcntl.flock(owner.fileno(), fcntl.LOCK_EX)  # held while the unit runs
        try:
            folder = scratch / folder_name
            unpack_folder(packed, folder)
            result = job(folder, payload)
            return result, pack_folder(folder), _node_name()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _sweep_stale_scratch(root: Path) -> None:
    """Remove scratch folders of units whose worker was killed (nobody holds their lock)."""
    for scratch in root.glob("unit-*"):
        try:
            if time.time() - scratch.stat().st_mtime < _SCRATCH_GRACE_SEC:
                continue  # just made: its unit may not have taken its lock yet
            with (scratch / _SCRATCH_OWNER).open("a") as owner:
                fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(scratch, ignore_errors=True)
        except BlockingIOError:
            continue  # a live unit
        except OSError:
            continue  # removed meanwhile by another sweeper


def _prepare_node(settings: Settings) -> None:
    """The node's base image, built here if the node lacks it (its own layer cache)."""
    with file_lock(settings.home / "locks" / "base-image.lock"):
        engine = DockerEngine.connect()
        try:
            ensure_base_image(engine, settings, lambda line: log.info("%s", line))
        finally:
            engine.close()


def _reap_on_node(run_id: str, everything: bool) -> int:
    engine = DockerEngine.connect()
    try:
        return len(engine.reap_orphans(run_id=run_id, everything=everything))
    finally:
        engine.close()


def _check_reachable(address: str) -> None:
    """A TCP connection to the head's port, with a short timeout: fail fast and say so."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection(
            (host or "127.0.0.1", int(port)), timeout=_CONNECT_TIMEOUT_SEC
        ):
            return
    except ValueError as error:
        raise ExecutorError(
            f"--ray-address {address!r} is not HOST:PORT", "e.g. 10.0.0.5:6379, or auto"
        ) from error
    except OSError as error:
        raise ExecutorError(
            f"cannot reach the Ray cluster at {address}: {error.strerror or error}",
            "is `ray start --head` running there, and is the port open from here?",
        ) from error


def _node_name() -> str:
    node_id = ray.get_runtime_context().get_node_id()[:8]
    return f"{socket.gethostname()} (node {node_id}, pid {os.getpid()})"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
