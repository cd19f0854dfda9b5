"""Replaying a model-driven build offline, from the model replies it recorded.

A model-driven build records every model call of every agent in
``RUN_DIR/candidates/<id>/trajectories/<role>.json`` (ATIF trajectories). A replay serves
those replies again — each agent its own script, through the scripted model server, in
the wire format of the provider the build used (OpenAI, Anthropic or Gemini, through
litellm's real provider code) — and runs the same build on the same candidates with the
same settings. Everything else (sandboxes, host checks, validation) runs for real, so the
replay produces the same artefacts and verdicts, or shows where they differ.

That makes a failing build a test case a lab can share. It needs, from the run folder::

    RUN_DIR/ledger.sqlite                              the build's configuration
    RUN_DIR/candidates/<id>/candidate.json             each candidate (secrets redacted)
    RUN_DIR/candidates/<id>/trajectories/<role>.json   the replies its agents got

and the candidates' repositories (``--repo-map OLD=NEW`` when they live elsewhere now)::

    python -m harness.build --replay RUN_DIR --out NEW_RUN_DIR

No API key and no network to a provider is needed. An agent that asks for more replies
than were recorded gets an error at once (the replay diverged), and the replay says which
recorded replies were never asked for.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from agents.context import CandidateWorkspace
from agents.factory.build import run_build
from agents.factory.ledger import LEDGER_FILE, Ledger
from agents.factory.records import ApproveMode, BuildConfig
from agents.subagent import agent_script_name
from harness.errors import ConfigError
from harness.executors.base import ExecutorConfig
from harness.fsio import read_model
from harness.scripted_server import Script, ScriptedServer, script_from_trajectory
from tools.report.records import BuildSummary
from tools.sessions.records import Candidate


def recorded_build(recorded: Path) -> tuple[BuildConfig, list[Candidate], dict[str, Script]]:
    """The configuration, the candidates and every agent's recorded replies of a run."""
    if not (recorded / LEDGER_FILE).is_file():
        raise ConfigError(
            f"{recorded} is not a kettle build run folder (no {LEDGER_FILE})",
            "give the --out folder of the build to replay",
        )
    ledger = Ledger(recorded)
    try:
        stored = ledger.config()
    finally:
        ledger.close()
    config = BuildConfig.model_validate(stored)
    if config.model is None:
        raise ConfigError(
            f"{recorded} was built by the baseline builder: there are no model replies to replay",
            "rerun the build itself: without a model it is deterministic",
        )
    candidates: list[Candidate] = []
    scripts: dict[str, Script] = {}
    for path in sorted((recorded / "candidates").glob("*/candidate.json")):
        candidate = read_model(path, Candidate)
        candidates.append(candidate)
        trajectories = CandidateWorkspace.at(path.parent).trajectories
        for trajectory in sorted(trajectories.glob("*.json")):
            scripts[agent_script_name(candidate.id, trajectory.stem)] = script_from_trajectory(
                trajectory
            )
    return config, candidates, scripts


def replay_build(
    recorded: Path,
    run_dir: Path,
    *,
    approve: ApproveMode,
    repo_map: dict[str, str],
    console: Console,
) -> BuildSummary:
    """Build ``recorded``'s candidates again into ``run_dir``, its model replies replayed."""
    original, candidates, scripts = recorded_build(recorded)
    candidates = [_moved(candidate, repo_map) for candidate in candidates]
    with ScriptedServer(routes=scripts) as server:
        assert original.model is not None
        config = original.model_copy(
            update={
                "run_id": run_dir.name,
                "inputs": [],
                "approve": approve,
                "retry_failed": False,
                "model": original.model.model_copy(
                    update={"api_base": f"http://127.0.0.1:{server.port}"}
                ),
                "replay_of": str(recorded),
            }
        )
        console.print(
            f"replaying {recorded}: {len(candidates)} candidate(s), {len(scripts)} recorded "
            f"agent(s) of {original.model.requested}"
        )
        summary = run_build(
            config,
            run_dir,
            ExecutorConfig(kind="local", local_slots=original.concurrency),
            concurrency_given=True,
            console=console,
            candidates=candidates,
        )
        unused = {name: left for name, left in server.routes_remaining().items() if left}
    if unused:
        listed = ", ".join(f"{name} ({left})" for name, left in sorted(unused.items()))
        console.print(f"[yellow]recorded replies never asked for[/yellow]: {listed}")
    return summary


def _moved(candidate: Candidate, repo_map: dict[str, str]) -> Candidate:
    """The candidate with its repository where ``--repo-map`` says it is now."""
    repo = candidate.repo or ""
    for old, new in repo_map.items():
        if repo == old or repo.startswith(old.rstrip("/") + "/"):
            return candidate.model_copy(update={"repo": new + repo[len(old) :]})
    return candidate
