"""Builders: who turns a seed into a Harbor task, as the factory would.

A contestant gets what the factory gets for a real session, and nothing of the seed's
hidden folder. On a session seed that is the session file, with its workspace mapped to
the seed's repository (a history with distractor commits around the fix): the builder's
own qualifier must find the start and the fix commit, or refuse the work. On any other
seed it is a Candidate (the intent's prompts, the repository, the start commit) and a
Qualification made from the seed (qualified; start and fix commits; the task spirit).
It then runs its reconstructor and verifier writer — the factory's own stage code — and
leaves a task directory.

- ``baseline``: the factory's deterministic policies (no model).
- any model (``gpt-5.1``, ``openai/...``): the factory's model-driven agents.
- a builder file (``my-builder.toml``, ``meta_bench.builder_file``): a model or the
  baseline with its own prompts, settings and budgets.
- ``null``: a control that emits a trivially broken environment (its verifier always
  writes 1) and never refuses; it must score 0.
- ``reference`` (the upstream tests as the verifier), ``ideal`` (the seed's ideal tests)
  and the calibration builders with known defects: controls fed the hidden truth, built
  in ``meta_bench.controls``.

``baseline`` and the model agents need a fix commit: on ``intent_only`` seeds they are not
applicable (reported as such, never as 0).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from meta_bench.records import (
    BuilderInfo,
    BuildOutcome,
    HiddenAssets,
    MaterializedSeed,
    QualificationOutcome,
    Seed,
)
from tools.repos.git import RepoCache
from tools.sessions.instruction import compose_instruction
from tools.sessions.intake import load_sessions
from tools.sessions.records import Candidate, CandidateHints

BUILTIN_BUILDERS = ("baseline", "null", "reference", "ideal")
_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BuildJob:
    """One builder on one seed: everything a build may use. ``hidden`` is read by the
    controls only (the ideal tests); a contestant never touches it."""

    seed: Seed
    materialized: MaterializedSeed
    folder: Path
    engine: DockerEngine
    settings: Settings
    run_id: str
    validation_repeats: int = 2
    hidden: HiddenAssets = field(default_factory=HiddenAssets)


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


def session_candidate(materialized: MaterializedSeed) -> Candidate:
    """A session seed's session, read by the factory's own intake, its workspace mapped to
    the seed's repository (as ``--repo-map`` does for sessions from another machine)."""
    if not materialized.session_path or not materialized.workspace:
        raise KettleError(f"seed {materialized.seed_id} has no session")
    found = load_sessions(
        [materialized.session_path], repo_map={materialized.workspace: materialized.builder_repo}
    )
    if not found.candidates:
        problems = "; ".join(str(error) for error in found.errors) or "no session found"
        raise KettleError(f"seed {materialized.seed_id}: the session does not load: {problems}")
    return found.candidates[0]


def qualification_outcome(qualification: Qualification, message: str = "") -> QualificationOutcome:
    return QualificationOutcome(
        verdict=qualification.verdict,
        fix_commit=qualification.fix_commit,
        start_commit=qualification.start_commit,
        codes=qualification.codes(),
        decided_by=qualification.decided_by,
        confidence=qualification.confidence,
        message=message,
    )


def truth_outcome(seed: Seed, materialized: MaterializedSeed) -> QualificationOutcome | None:
    """What a builder fed the hidden truth decides about a session seed."""
    if seed.session is None:
        return None
    if seed.refuses:
        return QualificationOutcome(
            verdict="disqualified",
            start_commit=materialized.start_commit,
            codes=list(seed.session.codes),
            decided_by="hidden truth",
        )
    return QualificationOutcome(
        verdict="qualified",
        start_commit=materialized.start_commit,
        fix_commit=materialized.fix_commit,
        decided_by="hidden truth",
    )


class _Workspace(CandidateWorkspace):
    """A candidate workspace rooted at the build's own folder."""

    def __init__(self, root: Path) -> None:
        self.root = root


def _context(
    job: BuildJob, candidate: Candidate, qualification: Qualification | None, budget: RunBudget
) -> StageContext:
    return StageContext(
        run_id=job.run_id,
        candidate=candidate,
        workspace=_Workspace(job.folder),
        engine=job.engine,
        images=TaskImages(job.engine, job.settings),
        settings=job.settings,
        repos=RepoCache(job.settings.home / "repos"),
        costs=budget,
        qualification=qualification,
        validation_repeats=job.validation_repeats,
    )


class FactoryBuilder:
    """Runs a set of factory policies (qualifier, reconstructor, verifier writer) on a seed.

    ``hidden_truth``: build from the reference repository (the upstream fix's source part
    and exactly the upstream tests) and skip qualification; the controls build this way.
    ``pick_fix``: hand the reconstructor this commit as the fix instead of qualifying (the
    wrong-fix calibration builder's distractor).
    """

    def __init__(
        self,
        name: str,
        policies: Policies,
        info: BuilderInfo,
        *,
        hidden_truth: bool = False,
        budget_usd: float | None = None,
    ) -> None:
        self.name = name
        self.info = info
        self._policies = policies
        self._hidden_truth = hidden_truth
        self._budget_usd = budget_usd

    def not_applicable(self, seed: Seed) -> str | None:
        if seed.visibility == "intent_only" and not self._hidden_truth:
            return "intent_only seed: the factory's agents need a fix commit to build from"
        return None

    def build(
        self, job: BuildJob, *, pick_fix: Callable[[MaterializedSeed], str] | None = None
    ) -> BuildOutcome:
        started = time.monotonic()
        shutil.rmtree(job.folder, ignore_errors=True)
        job.folder.mkdir(parents=True)
        materialized = job.materialized
        budget = RunBudget(self._budget_usd)
        asked: QualificationOutcome | None = None
        if self._hidden_truth:
            from meta_bench.materialize import reference_repo

            repo = str(reference_repo(materialized, job.settings))
            with RepoCache(job.settings.home / "repos").open(repo) as handle:
                start, fix = handle.resolve("HEAD~1"), handle.resolve("HEAD")
            assert start is not None
            candidate = seed_candidate(job.seed, repo, start)
            qualification = seed_qualification(job.seed, candidate, start, fix)
            asked = truth_outcome(job.seed, materialized)
        elif materialized.session_path:
            candidate = session_candidate(materialized)
            if pick_fix is not None:
                start = candidate.start_commit or materialized.start_commit
                qualification = seed_qualification(
                    job.seed, candidate, start, pick_fix(materialized)
                )
                qualification.decided_by = self.name
            else:
                context = _context(job, candidate, None, budget)
                qualification, candidate = self._policies.qualifier.qualify(context)
            asked = qualification_outcome(qualification)
            if qualification.verdict != "qualified":
                write_model(job.folder / "candidate.json", candidate)
                write_model(job.folder / "qualification.json", qualification)
                return BuildOutcome(
                    builder=self.name,
                    seed_id=job.seed.id,
                    status="refused",
                    message=f"{qualification.verdict}: "
                    + (", ".join(qualification.codes()) or "no findings"),
                    qualification=asked,
                    cost_usd=round(budget.spent, 6),
                    wall_sec=round(time.monotonic() - started, 3),
                )
        else:
            candidate = seed_candidate(
                job.seed, materialized.builder_repo, materialized.start_commit
            )
            qualification = seed_qualification(
                job.seed, candidate, materialized.start_commit, materialized.fix_commit
            )
        outcome = self._build_task(job, candidate, qualification, budget, started)
        outcome.qualification = asked
        return outcome

    def _build_task(
        self,
        job: BuildJob,
        candidate: Candidate,
        qualification: Qualification,
        budget: RunBudget,
        started: float,
    ) -> BuildOutcome:
        context = _context(job, candidate, qualification, budget)
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
        return _outcome(self.name, job, workspace, reconstruction, verifier, budget, started)


class NullBuilder:
    """A trivially broken environment: the start tree, and a verifier that always says 1.
    It never refuses work, so on a negative seed it is wrong too."""

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
        asked = None
        if job.seed.session is not None:
            asked = QualificationOutcome(
                verdict="qualified",
                start_commit=materialized.start_commit,
                fix_commit=None if job.seed.refuses else materialized.fix_commit,
                decided_by="null",
            )
        return BuildOutcome(
            builder=self.name,
            seed_id=job.seed.id,
            status="built",
            message="wrote an environment whose verifier always passes",
            task_dir=str(draft),
            qualification=asked,
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
    """``baseline``, ``null``, ``reference``, ``ideal``, a calibration builder
    (``meta_bench.controls.CALIBRATION``), a builder file (``*.toml``), or a model name."""
    from meta_bench.builder_file import is_builder_file, load_builder_file
    from meta_bench.controls import CALIBRATION, control_builder

    if name == "null":
        return NullBuilder(builder_info(name, role="control", kind="null"))
    if name in ("reference", "ideal") or name in CALIBRATION:
        return control_builder(name)
    if name == "baseline":
        info = builder_info(name, role="contestant", kind="baseline")
        return FactoryBuilder(name, make_policies(None), info)
    if is_builder_file(name):
        return load_builder_file(Path(name), api_base=api_base, make_model=make_model)
    spec = ModelSpec.resolve(name, api_base)
    info = builder_info(
        name,
        role="contestant",
        kind="model",
        model=spec.litellm_name,
        api_base=spec.api_base,
        litellm_version=litellm_version(),
        deterministic=False,
    )
    policies = make_policies(spec, max_steps=max_steps, make_model=make_model)
    return FactoryBuilder(name, policies, info)


def builder_info(name: str, **fields: object) -> BuilderInfo:
    return BuilderInfo(
        name=name,
        kettle_version=kettle_version(),
        code_revision=code_revision(),
        **fields,  # type: ignore[arg-type]
    )


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


def litellm_version() -> str | None:
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
    budget: RunBudget,
    started: float,
) -> BuildOutcome:
    tokens = _trajectory_tokens(workspace.trajectories)
    # A model without a known price leaves its report's cost None: the total is unknown.
    unknown = any(r.steps and r.cost_usd is None for r in (reconstruction, verifier))
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
        cost_usd=None if unknown else round(budget.spent, 6),
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
