"""What every build stage works with: the candidate's folder, shared services, records.

A candidate's folder (``RUN_DIR/candidates/<id>/``) is the contract between stages::

    candidate.json         the (redacted) Candidate
    qualification.json     the Qualification
    draft/                 the Harbor task being built: environment/, solution/, tests/,
                           instruction.md, task.toml
    build_report.md        what reconstruction met on the way (obstacles, dependencies)
    reconstruction.json    ReconstructionReport
    verifier.json          VerifierReport
    validation/            validation.json and the trials behind it
    trajectories/          one ATIF file per model-driven stage
    logs/                  build logs and stage logs
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agents.qualify.records import Qualification
from agents.reconstruct.records import ReconstructionReport
from agents.verifier.records import VerifierReport
from harness.errors import KettleError
from harness.fsio import read_model
from harness.machine.base_image import ensure_base_image
from harness.run_budget import SharedBudget
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.git import RepoCache
from tools.sessions.records import Candidate

log = logging.getLogger(__name__)


class CandidateWorkspace:
    """Paths inside one candidate's folder."""

    def __init__(self, run_dir: Path, candidate_id: str) -> None:
        self.root = run_dir / "candidates" / candidate_id

    @classmethod
    def at(cls, root: Path) -> CandidateWorkspace:
        """The workspace whose folder is ``root`` (a copy of it on a worker node)."""
        workspace = cls.__new__(cls)
        workspace.root = root
        return workspace

    @property
    def candidate_path(self) -> Path:
        return self.root / "candidate.json"

    @property
    def qualification_path(self) -> Path:
        return self.root / "qualification.json"

    @property
    def draft(self) -> Path:
        return self.root / "draft"

    @property
    def build_report_path(self) -> Path:
        return self.root / "build_report.md"

    @property
    def reconstruction_path(self) -> Path:
        return self.root / "reconstruction.json"

    @property
    def verifier_path(self) -> Path:
        return self.root / "verifier.json"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"

    @property
    def trajectories(self) -> Path:
        return self.root / "trajectories"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def stored_qualification(self) -> Qualification | None:
        """The qualification an earlier stage wrote (a resumed run starts from it)."""
        if not self.qualification_path.is_file():
            return None
        return read_model(self.qualification_path, Qualification)


@dataclass
class StageContext:
    """Everything a stage may use. Built by the pipeline for one candidate."""

    run_id: str
    candidate: Candidate
    workspace: CandidateWorkspace
    engine: DockerEngine
    images: TaskImages
    settings: Settings
    repos: RepoCache
    costs: SharedBudget  # the run's, shared by every stage (and node) of the run
    qualification: Qualification | None = None
    validation_repeats: int = 3
    notes: list[str] = field(default_factory=list)
    stage_cost_usd: float | None = None

    def charge(self, dollars: float | None) -> None:
        """Count model spending against the current stage (agent loops charge the run's
        budget themselves, call by call)."""
        if dollars is None:
            return
        self.stage_cost_usd = (self.stage_cost_usd or 0.0) + dollars


class Reconstructor(Protocol):
    """Writes draft/environment/, draft/solution/solve.sh and build_report.md."""

    name: str

    def reconstruct(self, context: StageContext) -> ReconstructionReport: ...


class VerifierWriter(Protocol):
    """Writes draft/tests/ (test.sh + files) and draft/instruction.md."""

    name: str

    def write_verifier(
        self, context: StageContext, reconstruction: ReconstructionReport
    ) -> VerifierReport: ...


class Qualifier(Protocol):
    name: str

    def qualify(self, context: StageContext) -> tuple[Qualification, Candidate]:
        """Return the qualification and the (redacted) candidate to use from now on."""
        ...


def build_commits(context: StageContext) -> tuple[str, str, str]:
    """(repo, start commit, fix commit) of a qualified candidate, or a clear error."""
    qualification = context.qualification
    if qualification is None or not qualification.start_commit or not qualification.fix_commit:
        raise KettleError("the qualification names no start commit and fix commit to build from")
    if not context.candidate.repo:
        raise KettleError("the candidate names no repository")
    return context.candidate.repo, qualification.start_commit, qualification.fix_commit


def agent_image(context: StageContext) -> str:
    """The image a model role's terminal starts from: this machine's base image, completed
    with bash and tmux when the public image the user named lacks them."""
    return ensure_base_image(context.engine, context.settings, log.info)


def sandbox_spec(context: StageContext, image: str, *, network: bool, role: str) -> SandboxSpec:
    """A build stage's sandbox: networked only to resolve dependencies, never to test."""
    return SandboxSpec(
        image=image,
        run_id=context.run_id,
        role=role,
        network="bridge" if network else "none",
        memory_mb=4096,
        cpus=None,
    )
