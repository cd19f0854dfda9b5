"""Builders: who turns a seed into a Harbor task, as the factory would.

A builder gets what the factory gets for a real session, and nothing of the seed's hidden
folder: a Candidate (the intent's prompts, a repository, the start commit) and a
Qualification made from the seed (qualified; start and fix commits; the task spirit from
the intent). It then runs its reconstructor and verifier writer — the factory's own stage
code — and leaves a task directory.

- ``baseline``: the factory's deterministic policies (no model).
- any model (``gpt-5.1``, ``openai/...``): the factory's model-driven agents.
- ``null``: a control that emits a trivially broken environment (its verifier always
  writes 1); it must score 0.
- ``reference``: the baseline machinery fed the hidden truth: a repository whose fix commit
  holds exactly the upstream fix's source part and the seed's upstream tests, also for
  ``intent_only`` seeds. A reference row on the leaderboard, not a contestant.

``baseline`` and the model agents need a fix commit: on ``intent_only`` seeds they are not
applicable (reported as such, never as 0).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agents.context import CandidateWorkspace, StageContext
from agents.factory.assemble import draft_config, write_draft_config
from agents.factory.policies import Policies, make_policies
from agents.qualify.records import Qualification
from agents.reconstruct.records import ReconstructionReport
from agents.subagent import ModelFactory
from agents.verifier.records import VerifierReport
from harness.errors import KettleError
from harness.fsio import write_model, write_text_atomic
from harness.llm import ModelSpec
from harness.run_budget import RunBudget
from harness.runner.terminus import kettle_version
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from meta_bench.materialize import reference_repo
from meta_bench.records import BuilderInfo, BuilderRole, BuildOutcome, MaterializedSeed, Seed
from tools.repos.git import RepoCache
from tools.sessions.instruction import compose_instruction
from tools.sessions.records import Candidate, CandidateHints

BUILTIN_BUILDERS = ("baseline", "null", "reference")
_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BuildJob:
    """One builder on one seed: everything a build may use."""

    seed: Seed
    materialized: MaterializedSeed
    folder: Path
    engine: DockerEngine
    settings: Settings
    run_id: str
    validation_repeats: int = 2


class Builder(Protocol):
    name: str
    info: BuilderInfo

    def not_applicable(self, seed: Seed) -> str | None:
        """Why this builder cannot take the seed, or None."""
        ...

    def build(self, job: BuildJob) -> BuildOutcome: ...


def seed_candidate(seed: Seed, repo: str, start_commit: str) -> Candidate:
    """The seed as the factory's intake would have produced it (no path to the seed)."""
    return Candidate(
        id=f"meta-{seed.id}",
        source_format="candidates_jsonl",
        source_path=f"meta_bench:{seed.id}",
        repo=repo,
        start_commit=start_commit,
        first_prompt=seed.intent.first_prompt,
        follow_ups=list(seed.intent.follow_ups),
        hints=CandidateHints(license=seed.license, language=seed.language),
    )


def seed_qualification(
    seed: Seed, candidate: Candidate, start_commit: str, fix_commit: str | None
) -> Qualification:
    spirit = "\n\n".join([seed.intent.first_prompt, *seed.intent.follow_ups])
    return Qualification(
        candidate_id=candidate.id,
        verdict="qualified",
        task_spirit=spirit,
        start_commit=start_commit,
        fix_commit=fix_commit,
        license=seed.license,
        confidence=1.0,
        decided_by="meta_bench",
    )


class _Workspace(CandidateWorkspace):
    """A candidate workspace rooted at the build's own folder."""

    def __init__(self, root: Path) -> None:
        self.root = root


def _context(job: BuildJob, candidate: Candidate, qualification: Qualification) -> StageContext:
    return StageContext(
        run_id=job.run_id,
        candidate=candidate,
        workspace=_Workspace(job.folder),
        engine=job.engine,
        images=TaskImages(job.engine, job.settings),
        settings=job.settings,
        repos=RepoCache(job.settings.home / "repos"),
        costs=RunBudget(None),
        qualification=qualification,
        validation_repeats=job.validation_repeats,
    )


class FactoryBuilder:
    """Runs a pair of factory policies (reconstructor, verifier writer) on a seed."""

    def __init__(
        self, name: str, policies: Policies, info: BuilderInfo, *, hidden_truth: bool = False
    ) -> None:
        self.name = name
        self.info = info
        self._policies = policies
        self._hidden_truth = hidden_truth

    def not_applicable(self, seed: Seed) -> str | None:
        if seed.visibility == "intent_only" and not self._hidden_truth:
            return "intent_only seed: the factory's agents need a fix commit to build from"
        return None

    def build(self, job: BuildJob) -> BuildOutcome:
        started = time.monotonic()
        shutil.rmtree(job.folder, ignore_errors=True)
        job.folder.mkdir(parents=True)
        materialized = job.materialized
        if self._hidden_truth:
            repo = str(reference_repo(materialized, job.settings))
            with RepoCache(job.settings.home / "repos").open(repo) as handle:
                start, fix = handle.resolve("HEAD~1"), handle.resolve("HEAD")
        else:
            repo, start = materialized.builder_repo, materialized.start_commit
            fix = materialized.fix_commit
        assert start is not None
        candidate = seed_candidate(job.seed, repo, start)
        qualification = seed_qualification(job.seed, candidate, start, fix)
        context = _context(job, candidate, qualification)
        workspace = context.workspace
        write_model(workspace.candidate_path, candidate)
        write_model(workspace.qualification_path, qualification)
        builder = self._policies.builder_name
        instruction = compose_instruction(candidate)
        write_draft_config(
            workspace, draft_config(candidate, qualification, None, builder), instruction
        )
        try:
            reconstruction = self._policies.reconstructor.reconstruct(context)
        except KettleError as error:
            reconstruction = ReconstructionReport(
                builder=builder, status="failed", message=error.message
            )
        config = draft_config(candidate, qualification, reconstruction, builder)
        write_draft_config(workspace, config, (workspace.draft / "instruction.md").read_text())
        write_model(workspace.reconstruction_path, reconstruction)
        verifier = VerifierReport(builder=builder, status="failed", message="not run")
        if reconstruction.status == "ok":
            try:
                verifier = self._policies.verifier_writer.write_verifier(context, reconstruction)
            except KettleError as error:
                verifier = VerifierReport(builder=builder, status="failed", message=error.message)
            write_model(workspace.verifier_path, verifier)
        return _outcome(self.name, job, workspace, reconstruction, verifier, started)


class NullBuilder:
    """A trivially broken environment: the start tree, and a verifier that always says 1."""

    name = "null"

    def __init__(self, info: BuilderInfo) -> None:
        self.info = info

    def not_applicable(self, seed: Seed) -> str | None:
        return None

    def build(self, job: BuildJob) -> BuildOutcome:
        started = time.monotonic()
        shutil.rmtree(job.folder, ignore_errors=True)
        draft = job.folder / "draft"
        materialized = job.materialized
        with RepoCache(job.settings.home / "repos").open(materialized.builder_repo) as repo:
            repo.export_tree(materialized.start_commit, draft / "environment" / "app")
        candidate = seed_candidate(job.seed, materialized.builder_repo, materialized.start_commit)
        qualification = seed_qualification(job.seed, candidate, materialized.start_commit, None)
        workspace = _Workspace(job.folder)
        write_draft_config(
            workspace,
            draft_config(candidate, qualification, None, self.name),
            compose_instruction(candidate),
        )
        write_text_atomic(
            draft / "environment" / "Dockerfile",
            "ARG BASE_IMAGE=kettle/base:bookworm\nFROM ${BASE_IMAGE}\n"
            "COPY app/ /app/\nWORKDIR /app\n",
        )
        _write_script(draft / "solution" / "solve.sh", "#!/bin/bash\ntrue\n")
        _write_script(
            draft / "tests" / "test.sh",
            "#!/bin/bash\n# null builder: every state passes\nmkdir -p /logs/verifier\n"
            "echo 1 > /logs/verifier/reward.txt\n",
        )
        return BuildOutcome(
            builder=self.name,
            seed_id=job.seed.id,
            status="built",
            message="wrote an environment whose verifier always passes",
            task_dir=str(draft),
            cost_usd=0.0,
            wall_sec=round(time.monotonic() - started, 3),
        )


def make_builder(
    name: str,
    *,
    api_base: str | None = None,
    max_steps: int = 60,
    make_model: ModelFactory | None = None,
) -> Builder:
    """``baseline``, ``null``, ``reference``, or a model name for the factory's agents."""
    revision = code_revision()
    common = {"kettle_version": kettle_version(), "code_revision": revision}
    if name == "null":
        return NullBuilder(BuilderInfo(name=name, role="control", kind="null", **common))
    if name in ("baseline", "reference"):
        role: BuilderRole = "contestant" if name == "baseline" else "reference"
        info = BuilderInfo(name=name, role=role, kind=name, **common)  # type: ignore[arg-type]
        return FactoryBuilder(name, make_policies(None), info, hidden_truth=name == "reference")
    spec = ModelSpec.resolve(name, api_base)
    info = BuilderInfo(
        name=name,
        role="contestant",
        kind="model",
        model=spec.litellm_name,
        api_base=spec.api_base,
        litellm_version=_litellm_version(),
        **common,
    )
    policies = make_policies(spec, max_steps=max_steps, make_model=make_model)
    return FactoryBuilder(name, policies, info)


def code_revision() -> str:
    """kettle's git revision, with '+dirty' when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _litellm_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return None


def _outcome(
    name: str,
    job: BuildJob,
    workspace: CandidateWorkspace,
    reconstruction: ReconstructionReport,
    verifier: VerifierReport,
    started: float,
) -> BuildOutcome:
    tokens = _trajectory_tokens(workspace.trajectories)
    costs = [c for c in (reconstruction.cost_usd, verifier.cost_usd) if c is not None]
    loadable = _loads(workspace.draft)
    ok = reconstruction.status == "ok" and verifier.status == "ok"
    return BuildOutcome(
        builder=name,
        seed_id=job.seed.id,
        status="built" if ok else "failed",
        message=(
            "reconstruction and verifier done"
            if ok
            else f"{'reconstruction' if reconstruction.status != 'ok' else 'verifier'} failed: "
            f"{(reconstruction if reconstruction.status != 'ok' else verifier).message}"
        ),
        task_dir=str(workspace.draft) if loadable else None,
        reconstruction=reconstruction.message,
        verifier=verifier.message,
        cost_usd=round(sum(costs), 6) if costs else (None if tokens["steps"] else 0.0),
        prompt_tokens=tokens["prompt"],
        completion_tokens=tokens["completion"],
        cached_tokens=tokens["cached"],
        steps=reconstruction.steps + verifier.steps,
        wall_sec=round(time.monotonic() - started, 3),
    )


def _trajectory_tokens(folder: Path) -> dict[str, int]:
    totals = {"prompt": 0, "completion": 0, "cached": 0, "steps": 0}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            metrics = json.loads(path.read_text(encoding="utf-8")).get("final_metrics") or {}
        except (OSError, json.JSONDecodeError):
            continue
        totals["prompt"] += int(metrics.get("total_prompt_tokens") or 0)
        totals["completion"] += int(metrics.get("total_completion_tokens") or 0)
        totals["cached"] += int(metrics.get("total_cached_tokens") or 0)
        totals["steps"] += int(metrics.get("total_steps") or 0)
    return totals


def _loads(draft: Path) -> bool:
    try:
        HarborTask.load(draft)
    except KettleError:
        return False
    return True


def _write_script(path: Path, text: str) -> None:
    write_text_atomic(path, text)
    path.chmod(0o755)
