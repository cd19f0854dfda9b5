"""A trial: one solver on one task in a fresh container, then the verifier.

The lifecycle reads like the domain: get the task's image, start a locked-down sandbox
(harness/runner/hardening.py), let the solver work (network as the task allows), then — only
then — isolate the outcome and run the tests:

1. the container is stopped, so no process the agent started survives into the tests;
2. interpreters, tools and startup hooks the agent tampered with are put back from the
   image (harness/runner/integrity.py);
3. ``shared`` mode starts the same container again; ``separate`` mode (``[verifier]
   environment_mode = "separate"``, or ``TrialOptions``) verifies in a fresh container:
   of the task's image with the task's ``artifacts`` (the paths Harbor hands its separate
   verifier) copied over from the agent's container, or, when the task names none, of a
   labelled snapshot of the agent's whole filesystem;
4. /logs/verifier is emptied, /tests copied in, test.sh runs, the reward is read.

The trial folder is the record: ``config.json``, ``result.json`` (with a top-level
``reward``), ``agent/`` (the solver's logs) and ``verifier/`` (reward file and test output).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import (
    DockerUnavailableError,
    KettleError,
    SandboxError,
    TaskFormatError,
)
from harness.fsio import is_storage_error, storage_error, write_model
from harness.runner import integrity
from harness.runner.hardening import agent_user, check_timeouts, resource_limits, trial_sandbox_spec
from harness.runner.records import (
    SolveOutcome,
    TrialConfig,
    TrialError,
    TrialOptions,
    TrialResult,
)
from harness.runner.solvers import DEFAULT_AGENT_TIMEOUT_SEC, Solver, SolverContext
from harness.runner.verify import prepare_for_solver, run_verifier
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import ContainerEvents, DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.task.folder import HarborTask
from harness.task.image import TaskImages

MAX_AGENT_LOG_BYTES = 200 * 1024 * 1024
# Errors of the host's filesystem that no later trial can escape either: the job stops.


def run_trial(
    engine: DockerEngine,
    images: TaskImages,
    task: HarborTask,
    solver: Solver,
    trial_dir: Path,
    *,
    run_id: str,
    build_log: Path,
    options: TrialOptions | None = None,
) -> TrialResult:
    """Run one trial and write its folder. Errors are recorded in the result, not raised —
    except RunStorageError: when the folder cannot be written there is nowhere to record."""
    options = options or TrialOptions()
    config = TrialConfig(
        trial_id=trial_dir.name,
        task_id=task.task_id,
        task_path=str(task.root),
        agent=solver.name,
        run_id=run_id,
        options=options,
    )
    _write(lambda: _start_folder(trial_dir, config), trial_dir / "config.json")
    result = TrialResult(
        trial_id=trial_dir.name,
        task_id=task.task_id,
        task_name=task.name,
        agent=solver.name,
        started_at=datetime.now(UTC),
    )
    started = time.monotonic()
    phases = _Trial(engine, images, task, solver, trial_dir, run_id, build_log, options, result)
    try:
        phases.run()
    except KettleError as error:
        result.error = TrialError(type=type(error).__name__, message=str(error), phase=phases.phase)
    except OSError as error:
        if is_storage_error(error):
            raise storage_error(error, trial_dir) from error
        result.error = TrialError(type=type(error).__name__, message=str(error), phase=phases.phase)
    finally:
        result.finished_at = datetime.now(UTC)
        result.timings.total_sec = round(time.monotonic() - started, 3)
        _write(lambda: write_model(trial_dir / "result.json", result), trial_dir / "result.json")
    return result


def _start_folder(trial_dir: Path, config: TrialConfig) -> None:
    trial_dir.mkdir(parents=True, exist_ok=True)
    write_model(trial_dir / "config.json", config)


def _write(action: Callable[[], object], path: Path) -> None:
    try:
        action()
    except OSError as error:
        if is_storage_error(error):
            raise storage_error(error, path) from error
        raise


class _Trial:
    """The phases of one trial, sharing what they need."""

    def __init__(
        self,
        engine: DockerEngine,
        images: TaskImages,
        task: HarborTask,
        solver: Solver,
        trial_dir: Path,
        run_id: str,
        build_log: Path,
        options: TrialOptions,
        result: TrialResult,
    ) -> None:
        self.engine, self.images, self.task, self.solver = engine, images, task, solver
        self.trial_dir, self.run_id, self.build_log = trial_dir, run_id, build_log
        self.options, self.result = options, result
        self.timings = result.timings
        self.phase = "image"

    def run(self) -> None:
        task, result = self.task, self.result
        check_timeouts(task)
        if task.config.verifier.environment is not None:
            raise TaskFormatError(
                f"{task.config_path}: [verifier.environment] (a verifier image of its own) "
                "is not supported by kettle's runner",
                'use [verifier] environment_mode = "separate" to verify a snapshot instead',
            )
        mode = self.options.verifier_mode or task.config.verifier.environment_mode or "shared"
        result.verifier_mode = mode
        mark = time.monotonic()
        result.image = self.images.ensure(task, self.build_log)
        self.timings.image_sec = _since(mark)
        spec = trial_sandbox_spec(task, result.image, self.run_id, role="trial")
        agent_spec = spec
        if mode == "separate" and not task.config.agent_internet:
            # The verifier gets a container of its own: the agent's never needs a network.
            agent_spec = spec.model_copy(update={"network": "none"})
        snapshot: str | None = None
        self.phase = "start"
        mark = time.monotonic()
        with self.engine.start(agent_spec) as sandbox, self._events(sandbox) as events:
            prepare_for_solver(sandbox)
            sandbox.set_network(task.config.agent_internet)
            self.timings.start_sec = _since(mark)
            self.phase = "agent"
            self._agent_phase(sandbox, events)
            self.phase = "isolate"
            mark = time.monotonic()
            guard = self._isolate(sandbox)
            if mode == "separate" and task.config.artifacts:
                self._verify_artifacts(sandbox, spec, guard, mark)
            elif mode == "separate":
                snapshot = self.engine.snapshot(sandbox, task_id=task.task_id, run_id=self.run_id)
                sandbox.close()
            else:
                if not sandbox.state().running:  # stopped by the runner (or by the agent)
                    sandbox.start()
                self.timings.isolate_sec = _since(mark)
                self._verifier_phase(sandbox, guard, events)
        if snapshot is not None:
            try:
                verifier_spec = spec.model_copy(update={"image": snapshot, "role": "verifier"})
                with (
                    self.engine.start(verifier_spec) as verifier_box,
                    self._events(verifier_box) as verifier_events,
                ):
                    self.timings.isolate_sec = _since(mark)
                    self._verifier_phase(verifier_box, guard, verifier_events)
            finally:
                if not self.options.keep_snapshot:
                    self.engine.remove_image(snapshot)
        result.reward = result.verifier_result.reward if result.verifier_result else None
        if result.reward is None:
            # A verifier that cannot produce a reward failed the trial: score it 0, say why.
            result.reward = 0.0

    def _verify_artifacts(
        self,
        agent_box: DockerSandbox,
        spec: SandboxSpec,
        guard: integrity.GuardReport,
        mark: float,
    ) -> None:
        """Harbor's separate verifier: a fresh container of the image, given the artifacts."""
        verifier_spec = spec.model_copy(update={"role": "verifier"})
        with (
            self.engine.start(verifier_spec) as verifier_box,
            self._events(verifier_box) as verifier_events,
        ):
            for entry in self.task.config.artifacts:
                source = entry if isinstance(entry, str) else str(entry.get("source", ""))
                if not agent_box.carry_to(verifier_box, source):
                    self.result.notes.append(f"artifact {source} did not exist after the agent")
            agent_box.close()
            self.timings.isolate_sec = _since(mark)
            self._verifier_phase(verifier_box, guard, verifier_events)

    @contextmanager
    def _events(self, sandbox: DockerSandbox) -> Iterator[ContainerEvents]:
        events = self.engine.watch_events(sandbox.id, ("oom", "die"))
        try:
            yield events
        finally:
            events.close()

    def _agent_phase(self, sandbox: DockerSandbox, events: ContainerEvents) -> None:
        mark = time.monotonic()
        ooms = events.count("oom")
        timeout = self.task.config.agent.timeout_sec or DEFAULT_AGENT_TIMEOUT_SEC
        context = SolverContext(
            sandbox=sandbox,
            task=self.task,
            agent_dir=self.trial_dir / "agent",
            deadline=mark + timeout,
            user=agent_user(self.task),
        )
        context.agent_dir.mkdir(parents=True, exist_ok=True)
        try:
            outcome = self.solver.solve(context)
        except DockerUnavailableError:
            raise  # the engine is gone: nothing to verify, the trial is an error
        except KettleError as error:
            # Whatever the agent did to its container (killed its shell, stopped the
            # container), the outcome is still judged: an agent must not be able to turn
            # a failing trial into an unscored one.
            outcome = SolveOutcome(status="error", notes=[str(error)])
        self.result.agent_result = outcome
        self.timings.agent_sec = _since(mark)
        events.settle()
        if not sandbox.state().running and (events.ended or not events.count("die")):
            # Stopped without dying in the engine's event stream: an engine restart stopped
            # it, not the agent. That is an infrastructure error, not an outcome to judge.
            raise DockerUnavailableError(
                "the Docker engine restarted during the agent phase and stopped the container"
            )
        self._note_oom(events.count("oom") - ooms, "agent")
        try:
            sandbox.copy_out("/logs/agent", context.agent_dir, max_bytes=MAX_AGENT_LOG_BYTES)
        except SandboxError as error:
            self.result.notes.append(f"/logs/agent was not copied out: {error}")

    def _isolate(self, sandbox: DockerSandbox) -> integrity.GuardReport:
        """Between the phases: stop every agent process, undo tool tampering."""
        if self.options.stop_agent_processes or self.result.verifier_mode == "separate":
            sandbox.stop()
        if not self.options.restore_tools:
            return integrity.GuardReport(changes=[], to_remove=[])
        return integrity.guard_tools(
            self.engine,
            sandbox,
            self.result.image or "",
            run_id=self.run_id,
            workdir=self.task.config.environment.workdir,
        )

    def _verifier_phase(
        self, sandbox: DockerSandbox, guard: integrity.GuardReport, events: ContainerEvents
    ) -> None:
        self.phase = "verifier"
        mark = time.monotonic()
        integrity.remove_blanked(sandbox, guard)
        sandbox.set_network(self.task.config.environment.internet_allowed)
        ooms = events.count("oom")
        outcome = run_verifier(sandbox, self.task, self.trial_dir / "verifier")
        outcome.tampering = [change.describe() for change in guard.changes] + outcome.tampering
        self.result.verifier_result = outcome
        events.settle()
        self._note_oom(events.count("oom") - ooms, "verifier")
        self.timings.verifier_sec = _since(mark)

    def _note_oom(self, kills: int, phase: str) -> None:
        if not kills:
            return
        limit = resource_limits(self.task).memory_mb
        note = (
            f"out of memory in the {phase} phase: the kernel killed {kills} process(es) at "
            f"the task's {limit} MB limit ([environment].memory_mb)"
        )
        self.result.oom_killed = True
        self.result.notes.append(note)
        agent = self.result.agent_result
        if phase == "agent" and agent is not None:
            agent.notes.append(note)
            if agent.status in ("failed", "error"):
                agent.status = "oom_killed"
        if phase == "verifier" and self.result.verifier_result is not None:
            self.result.verifier_result.problems.append(note)


def _since(mark: float) -> float:
    return round(time.monotonic() - mark, 3)
