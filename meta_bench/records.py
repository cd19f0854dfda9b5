"""Every record of the meta-benchmark, in one place: the seed format (``seed.toml``,
``hidden/variants.toml``), what a builder produced, a materialized seed, an environment's
score, a seed check, the run's ledger rows and options, and the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

BuilderRole = Literal["contestant", "reference", "control"]
UnitState = Literal["scored", "not_built", "not_applicable", "failed"]
UnitStatus = Literal["pending", "building", "scoring", "done", "not_applicable", "failed"]
SCHEMA_VERSION = 1
Metric = Literal["M1", "M2", "M3", "M5", "M6", "M7", "M8"]
StateKind = Literal["start", "oracle", "correct", "wrong", "probe"]


class RepoSource(BaseModel):
    """Where the project comes from."""

    kind: Literal["git", "pypi", "npm", "example"]
    url: str | None = Field(None, description="git: clone URL")
    package: str | None = Field(None, description="pypi/npm: the package name")
    start_version: str | None = Field(None, description="pypi/npm: the release with the bug")
    fix_version: str | None = Field(None, description="pypi/npm: the release with the fix")
    fix_paths: list[str] = Field(
        default_factory=list,
        description="pypi/npm: files (source and tests) taken from fix_version to form the "
        "upstream fix commit; every other file stays as in start_version",
    )
    example: str | None = Field(None, description="example: a folder name in examples/projects")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> RepoSource:
        needed = {
            "git": ["url"],
            "pypi": ["package", "start_version", "fix_version", "fix_paths"],
            "npm": ["package", "start_version", "fix_version", "fix_paths"],
            "example": ["example"],
        }[self.kind]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"source kind {self.kind!r} needs {', '.join(missing)}")
        return self


class Intent(BaseModel):
    """What the user asked, as a session would carry it."""

    first_prompt: str
    follow_ups: list[str] = Field(default_factory=list)


class Seed(BaseModel):
    schema_version: int = 1
    id: str
    title: str
    language: str
    license: str = Field(description="SPDX id of the project")
    source: RepoSource
    start_ref: str = Field(
        "start",
        description="git: commit/ref of the start state; example: the commit folder of its "
        "history (e.g. '05-since-option'); pypi/npm: 'start'",
    )
    fix_ref: str = Field(
        "fix",
        description="git: the upstream fix commit; example: its commit folder; pypi/npm: 'fix'",
    )
    intent: Intent
    visibility: Literal["factory", "intent_only"] = Field(
        "factory",
        description="factory: builders get the repository with the fix commit in its history, "
        "as the factory does for a real session; intent_only: history ends at the start",
    )
    upstream_test_paths: list[str] = Field(
        default_factory=list, description="Test files of the upstream fix (repo-relative)"
    )


class VariantSpec(BaseModel):
    name: str = Field(description="File stem of the patch in correct/ or wrong/")
    kind: Literal["correct", "wrong"]
    description: str
    technique: str = Field(
        description="correct: different_algorithm | different_layout | different_names | ...; "
        "wrong: partial_fix | special_case | mutant_flip_condition | mutant_off_by_one | "
        "mutant_drop_branch | mutant_revert_hunk | ..."
    )


class VariantsFile(BaseModel):
    variants: list[VariantSpec]


class BuilderInfo(BaseModel):
    """Exactly who built: recorded with every result."""

    schema_version: int = 1
    name: str
    role: BuilderRole
    kind: Literal["baseline", "model", "null", "reference"]
    kettle_version: str
    code_revision: str = Field(description="git revision of kettle's code ('+dirty' if edited)")
    model: str | None = Field(None, description="The litellm model string the agents called")
    api_base: str | None = None
    litellm_version: str | None = None


class BuildOutcome(BaseModel):
    """What one build produced and what it cost."""

    schema_version: int = 1
    builder: str
    seed_id: str
    status: Literal["built", "failed", "not_applicable"]
    message: str = ""
    task_dir: str | None = Field(None, description="The task directory to score, if any")
    reconstruction: str = ""
    verifier: str = ""
    cost_usd: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    steps: int = 0
    wall_sec: float = 0.0


class MaterializedSeed(BaseModel):
    """Where a seed's project lives on this machine, and the upstream fix split in two."""

    schema_version: int = 1
    seed_id: str
    digest: str
    repo: str = Field(description="The repository with the fix commit (the scorer's view)")
    builder_repo: str = Field(description="What builders get: repo, or history up to the start")
    start_commit: str
    fix_commit: str
    source_paths: list[str] = Field(description="Non-test files the upstream fix changes")
    test_paths: list[str] = Field(description="The upstream tests (added or changed)")
    strategy: str = Field(description="fix_commit | cumulative (see tools.repos.patches)")
    upstream_url: str | None = Field(None, description="A public place the fix can be fetched")
    folder: str = Field(description="The cache folder holding upstream/")

    @property
    def upstream_dir(self) -> Path:
        return Path(self.folder) / "upstream"

    @property
    def source_diff(self) -> str:
        """The upstream fix's source part, a git diff that applies to the start commit."""
        return (self.upstream_dir / "fix-source.patch").read_text(encoding="utf-8")

    @property
    def test_diff(self) -> str:
        return (self.upstream_dir / "fix-tests.patch").read_text(encoding="utf-8")

    @property
    def full_diff(self) -> str:
        return self.source_diff + self.test_diff

    def upstream_tests(self) -> dict[str, str]:
        """Each upstream test file at its fixed version."""
        root = self.upstream_dir / "tests"
        return {
            path: (root / path).read_text(encoding="utf-8", errors="replace")
            for path in self.test_paths
            if (root / path).is_file()
        }


class ScoreCheck(BaseModel):
    """One thing the scorer decided, with what it decided it on."""

    name: str = Field(description="e.g. 'oracle', 'correct:regex_parser', 'probe:pytest_hook'")
    metric: Metric
    passed: bool
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class StateRuns(BaseModel):
    """The reruns of one judged state (start, oracle, a variant, a probe)."""

    label: str
    kind: StateKind
    rewards: list[float | None] = Field(description="None where the trial could not run")
    applied: list[bool] = Field(description="Did the solver (patch or probe) complete?")
    trials: list[str]
    errors: list[str] = Field(default_factory=list)

    @property
    def all_pass(self) -> bool:
        return bool(self.rewards) and all(r == 1.0 for r in self.rewards)

    @property
    def all_fail(self) -> bool:
        return bool(self.rewards) and all(r == 0.0 for r in self.rewards)

    @property
    def consistent(self) -> bool:
        values = [r for r in self.rewards if r is not None]
        return len(set(values)) <= 1


class Cost(BaseModel):
    """M10: what building (and judging) the environment cost."""

    usd: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    build_wall_sec: float = 0.0
    score_wall_sec: float = 0.0
    judge_usd: float | None = None


class EnvScore(BaseModel):
    schema_version: int = SCHEMA_VERSION
    builder: str
    seed_id: str
    repeat: int = 1
    status: Literal["scored", "not_built", "not_applicable"]
    message: str = ""
    m1_validity: float = 0.0
    m2_recall: float | None = None
    m3_kill_rate: float | None = None
    m4_f1: float | None = None
    m5_exploit_resistance: float | None = None
    m6_leak_free: float = 0.0
    m7_determinism: float = 0.0
    m8_alignment: float | None = None
    env_score: float = 0.0
    cost: Cost = Field(default_factory=Cost)
    checks: list[ScoreCheck] = Field(default_factory=list)
    states: list[StateRuns] = Field(default_factory=list)

    @property
    def failures(self) -> list[ScoreCheck]:
        return [check for check in self.checks if not check.passed]


class SeedFinding(BaseModel):
    name: str
    passed: bool
    message: str
    evidence: dict[str, object] = Field(default_factory=dict)


class SeedCheckReport(BaseModel):
    schema_version: int = 1
    seed_id: str
    passed: bool
    status: Literal["checked", "broken"]
    findings: list[SeedFinding]
    reference: BuildOutcome | None = None
    score: EnvScore | None = None
    duration_sec: float = 0.0

    @property
    def failures(self) -> list[SeedFinding]:
        return [finding for finding in self.findings if not finding.passed]


class MutantVerdict(BaseModel):
    name: str
    technique: str
    description: str
    rejected: bool | None = Field(description="None: the upstream tests could not judge it")
    rewards: list[float | None] = Field(default_factory=list)


class DraftReport(BaseModel):
    schema_version: int = 1
    seed_id: str
    seed_dir: str
    work_dir: str = Field(description="Builds, trials and this report (kept out of the seed)")
    reference: BuildOutcome | None = None
    mutants: list[MutantVerdict] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    message: str = ""


class JudgeVerdict(BaseModel):
    alignment: float = Field(ge=0.0, le=1.0, description="1.0: tests check exactly what is asked")
    over_prescriptive: list[str] = Field(
        default_factory=list, description="Checks the instruction does not ask for"
    )
    missing: list[str] = Field(
        default_factory=list, description="Asked-for behaviour no test checks"
    )
    rationale: str = Field(description="Two or three sentences")


class SeedInfo(BaseModel):
    id: str
    title: str
    language: str
    kind: str
    visibility: str


class UnitResult(BaseModel):
    """One builder × seed × repeat, as the run left it."""

    builder: str
    seed_id: str
    repeat: int
    state: UnitState
    detail: str = ""
    folder: str = Field("", description="The unit's folder, relative to the run folder")
    build: BuildOutcome | None = None
    score: EnvScore | None = None


class FailedCheck(BaseModel):
    repeat: int
    name: str
    metric: str
    message: str
    evidence: str = ""


class SeedCell(BaseModel):
    seed_id: str
    state: UnitState
    env_score: float | None = None
    repeats: list[float] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    detail: str = ""
    failed_checks: list[FailedCheck] = Field(default_factory=list)
    cost_usd: float | None = None
    build_wall_sec: float = 0.0
    folders: list[str] = Field(default_factory=list)


class CostTotals(BaseModel):
    usd: float | None = Field(None, description="None when any build's price is unknown")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    build_wall_sec: float = 0.0
    score_wall_sec: float = 0.0
    judge_usd: float | None = None


class BuilderRow(BaseModel):
    builder: str
    role: str
    info: BuilderInfo
    rank: int | None = None
    meta_score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    seeds_scored: int = 0
    seeds_not_applicable: int = 0
    seeds_failed: int = 0
    metrics: dict[str, float | None] = Field(default_factory=dict)
    cost: CostTotals = Field(default_factory=CostTotals)
    cells: list[SeedCell] = Field(default_factory=list)


class RenderCheck(BaseModel):
    passed: bool
    browser: str | None = None
    message: str


class Leaderboard(BaseModel):
    schema_version: int = 1
    generated_at: str
    run_id: str
    command: str
    judge: str | None = None
    repeats: int = 1
    seeds: list[SeedInfo]
    rows: list[BuilderRow]
    wall_sec: float | None = None
    render_check: RenderCheck | None = None


class UnitRecord(BaseModel):
    builder: str
    seed_id: str
    repeat: int
    status: UnitStatus
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    detail: str | None = None


class Mutant(BaseModel):
    name: str
    technique: str
    path: str
    line: int
    description: str
    files: dict[str, str | None]


class RunOptions(BaseModel):
    schema_version: int = 1
    builders: list[str]
    seeds_dir: str
    seeds: list[str] = Field(default_factory=list, description="Seed ids; empty: all")
    repeats: int = 1
    concurrency: int = 1
    trial_workers: int = 2
    reruns: int = 3
    variant_reruns: int = 2
    api_base: str | None = None
    judge: str | None = None
    judge_api_base: str | None = None
    max_steps: int = 60


class RunRecord(BaseModel):
    schema_version: int = 1
    run_id: str
    command: str
    options: RunOptions
    builders: list[BuilderInfo]
    started_at: str
    wall_sec_total: float = 0.0


class UnitReply(BaseModel):
    status: Literal["done", "failed"]
    detail: str
    line: str  # what the progress display prints

    @classmethod
    def failed(cls, error: Exception) -> UnitReply:
        return cls(status="failed", detail=str(error), line=f"[red]failed[/red]: {error}")
