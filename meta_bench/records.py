"""Every record of the meta-benchmark, in one place: the seed format (``seed.toml``,
``hidden/variants.toml``), what a builder produced, a materialized seed, an environment's
score, a seed check, the run's ledger rows and options, and the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, PrivateAttr, model_validator

BuilderRole = Literal["contestant", "reference", "control", "calibration"]
BuilderKind = Literal["baseline", "model", "null", "reference", "ideal", "calibration"]
UnitState = Literal["scored", "not_built", "not_applicable", "failed"]
UnitStatus = Literal["pending", "building", "scoring", "done", "not_applicable", "failed"]
SCHEMA_VERSION = 2
Metric = Literal["M0", "M1", "M2", "M3", "M5", "M6", "M7", "M8"]
StateKind = Literal["start", "oracle", "correct", "wrong", "probe"]
VariantKind = Literal["correct", "wrong"]
UpstreamVerdict = Literal["accepted", "rejected"]
# A hidden variant's class: is it a right fix by the user's words (kind), and what do the
# upstream tests make of it (upstream)? The two classes the upstream tests get wrong are
# where a verifier written from the user's intent can beat them.
VariantClass = Literal["correct_accepted", "correct_rejected", "wrong_caught", "wrong_missed"]
VARIANT_CLASSES: tuple[VariantClass, ...] = get_args(VariantClass)
SessionFormat = Literal["claude_code", "codex", "cline", "candidates_jsonl"]


def variant_class(kind: VariantKind, upstream: UpstreamVerdict) -> VariantClass:
    if kind == "correct":
        return "correct_accepted" if upstream == "accepted" else "correct_rejected"
    return "wrong_missed" if upstream == "accepted" else "wrong_caught"


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

    start_paths: list[str] = Field(
        default_factory=list,
        description="Session seeds: only these paths of the start tree form the start commit "
        "(a from-scratch session's nearly empty repository); empty: the whole tree",
    )

    def missing_fields(self, *, needs_fix: bool) -> list[str]:
        needed = {
            "git": ["url"],
            "pypi": ["package", "start_version"],
            "npm": ["package", "start_version"],
            "example": ["example"],
        }[self.kind]
        if needs_fix and self.kind in ("pypi", "npm"):
            needed += ["fix_version", "fix_paths"]
        return [name for name in needed if not getattr(self, name)]


class Intent(BaseModel):
    """What the user asked, as a session would carry it."""

    first_prompt: str
    follow_ups: list[str] = Field(default_factory=list)


class HistoryCommit(BaseModel):
    """A commit kettle writes into a session seed's history (a patch under hidden/history/)."""

    message: str = Field(description="The commit message, as its author would write it")
    patch: str = Field("", description="File name under hidden/history/ (a git diff)")
    when: Literal["before_fix", "after_fix"] = "before_fix"
    role: Literal["unrelated", "distractor"] = Field(
        "unrelated",
        description="distractor: worded like a fix of what the user asked, but it is not",
    )
    release_rest: bool = Field(
        False,
        description="Instead of a patch: every file of the start release that the start "
        "commit left out (with source.start_paths: the project written after the session)",
    )

    @model_validator(mode="after")
    def _one_change(self) -> HistoryCommit:
        if bool(self.patch) == self.release_rest:
            raise ValueError("a history commit has either a patch or release_rest = true")
        return self


class SessionSetup(BaseModel):
    """How a seed is presented as real work: a session file over a repository with history.

    Builders get the session (and the workspace it names, mapped to the repository), never
    the start or fix commit: finding them, or refusing the work, is theirs to do.
    """

    format: SessionFormat
    workspace: str = Field(description="The directory the session says it worked in")
    files: list[str] = Field(
        default_factory=list, description="Repo-relative files the session's agent edited"
    )
    expect: Literal["fix", "refuse"] = Field(
        "fix", description="fix: the upstream fix is to be found; refuse: a negative seed"
    )
    codes: list[str] = Field(
        default_factory=list, description="refuse: the disqualifiers a refusal should cite"
    )
    fix_message: str = Field(
        "", description="The upstream fix commit's message (its upstream wording)"
    )
    history: list[HistoryCommit] = Field(default_factory=list)


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
    session: SessionSetup | None = Field(
        None, description="Present the seed as a session over a history (see SessionSetup)"
    )
    _folder: Path | None = PrivateAttr(None)

    @property
    def folder(self) -> Path | None:
        """The seed's folder, when it was loaded from one (its hidden/ is read from there)."""
        return self._folder

    def at(self, folder: Path) -> Seed:
        self._folder = folder.resolve()
        return self

    @model_validator(mode="after")
    def _source_complete(self) -> Seed:
        missing = self.source.missing_fields(needs_fix=not self.refuses)
        if missing:
            raise ValueError(f"source kind {self.source.kind!r} needs {', '.join(missing)}")
        if self.source.start_paths and self.session is None:
            raise ValueError("start_paths applies to session seeds only")
        return self

    @property
    def refuses(self) -> bool:
        """A negative seed: the right answer is to refuse the work (no environment)."""
        return self.session is not None and self.session.expect == "refuse"


class VariantSpec(BaseModel):
    name: str = Field(description="File stem of the patch in correct/ or wrong/")
    kind: VariantKind
    upstream: UpstreamVerdict | None = Field(
        None,
        description="What the upstream tests do with it (seed check verifies it); omitted: "
        "accepted for correct variants, rejected for wrong ones",
    )
    description: str
    technique: str = Field(
        description="correct: different_algorithm | different_layout | different_names | "
        "different_message | ...; wrong: partial_fix | special_case | example_only | "
        "one_of_two_places | breaks_kept_behaviour | mutant_* | ..."
    )
    rationale: str = Field(
        "", description="Why it is right or wrong by the user's own words (quote them)"
    )

    @property
    def expected_upstream(self) -> UpstreamVerdict:
        if self.upstream is not None:
            return self.upstream
        return "accepted" if self.kind == "correct" else "rejected"

    @property
    def variant_class(self) -> VariantClass:
        return variant_class(self.kind, self.expected_upstream)


class IdealSpec(BaseModel):
    """The ideal control: outcome tests written from the user's words, not the upstream's."""

    command: str = Field(
        description="Run from the repository root; `python -m pytest FILE` and `node --test "
        "FILE` are judged from the runner's report (every test of FILE that ran passes), any "
        "other command by exit 0"
    )
    files: list[str] = Field(
        min_length=1, description="Repo-relative paths; stored under hidden/ideal/<path>"
    )


class VariantsFile(BaseModel):
    ideal: IdealSpec | None = None
    exempt: dict[VariantClass, str] = Field(
        default_factory=dict,
        description="A class the bug cannot have, with why (e.g. the upstream tests pin "
        "nothing a valid fix could choose differently)",
    )
    variants: list[VariantSpec] = Field(default_factory=list)


class HiddenAssets(BaseModel):
    """Everything of a seed's hidden/ folder the scorer and the controls read."""

    variants: list[tuple[VariantSpec, str]] = Field(default_factory=list)
    ideal: IdealSpec | None = None
    ideal_files: dict[str, str] = Field(default_factory=dict, description="path -> content")
    exempt: dict[VariantClass, str] = Field(default_factory=dict)


class BuilderInfo(BaseModel):
    """Exactly who built: recorded with every result."""

    schema_version: int = 1
    name: str
    role: BuilderRole
    kind: BuilderKind
    kettle_version: str
    code_revision: str = Field(description="git revision of kettle's code ('+dirty' if edited)")
    model: str | None = Field(None, description="The litellm model string the agents called")
    api_base: str | None = None
    litellm_version: str | None = None
    defect: str | None = Field(None, description="calibration: the known defect it has")
    deterministic: bool = Field(
        True, description="Builds the same environment every time (built once per seed)"
    )
    config_path: str | None = Field(None, description="The builder file (--builder X.toml)")
    config_sha256: str | None = Field(
        None, description="sha256 of the builder file and every prompt file it names"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="What the builder file set (steps, budgets, prompts)"
    )


class QualificationOutcome(BaseModel):
    """What a builder decided about a session seed's work, and whether that was right."""

    verdict: Literal["qualified", "disqualified", "needs_human"]
    fix_commit: str | None = None
    start_commit: str | None = None
    codes: list[str] = Field(default_factory=list)
    decided_by: str
    confidence: float | None = None
    message: str = ""


class BuildOutcome(BaseModel):
    """What one build produced and what it cost."""

    schema_version: int = 1
    builder: str
    seed_id: str
    status: Literal["built", "failed", "not_applicable", "refused"]
    message: str = ""
    task_dir: str | None = Field(None, description="The task directory to score, if any")
    qualification: QualificationOutcome | None = Field(
        None, description="Session seeds: what the builder's qualifier decided"
    )
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
    session_path: str | None = Field(
        None, description="Session seeds: the session file or task folder builders get"
    )
    workspace: str | None = Field(
        None, description="Session seeds: the workspace the session names (maps to builder_repo)"
    )
    distractors: list[str] = Field(
        default_factory=list, description="Session seeds: fix-worded commits that are not the fix"
    )
    expect: Literal["fix", "refuse"] = "fix"

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
    reused_trials: int = Field(0, description="Trials copied from an identical environment's")


class ClassResult(BaseModel):
    """How an environment judged one class of hidden variants."""

    total: int = 0
    right: int = Field(
        0, description="correct: accepted in every run; wrong: rejected in every run"
    )

    @property
    def rate(self) -> float | None:
        return self.right / self.total if self.total else None


class EnvScore(BaseModel):
    schema_version: int = SCHEMA_VERSION
    builder: str
    seed_id: str
    repeat: int = 1
    status: Literal["scored", "not_built", "not_applicable"]
    message: str = ""
    m0_qualification: float | None = Field(
        None, description="Session seeds: 1 if the builder found the fix or rightly refused"
    )
    judged: bool = Field(
        True, description="False: no environment was judged (a refusal, or the wrong fix)"
    )
    m1_validity: float = 0.0
    m2_recall: float | None = None
    m3_kill_rate: float | None = None
    m4_f1: float | None = None
    m5_exploit_resistance: float | None = None
    m6_leak_free: float = 0.0
    m7_determinism: float = 0.0
    m8_alignment: float | None = None
    env_score: float = 0.0
    classes: dict[VariantClass, ClassResult] = Field(default_factory=dict)
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


class VariantVerdict(BaseModel):
    """One hidden solution as the seed check saw it: its class, the upstream tests' verdict
    and the ideal control's."""

    name: str = Field(description="'start', 'oracle' (the upstream fix) or the variant")
    kind: Literal["start", "oracle", "correct", "wrong"]
    declared: VariantClass | None = None
    upstream: Literal["accepted", "rejected", "inconsistent", "not_run"] = "not_run"
    ideal: Literal["accepted", "rejected", "inconsistent", "not_run"] = "not_run"
    passed: bool = False


class SeedCheckReport(BaseModel):
    schema_version: int = 2
    seed_id: str
    passed: bool
    status: Literal["checked", "broken"]
    findings: list[SeedFinding]
    variants: list[VariantVerdict] = Field(default_factory=list)
    classes: dict[VariantClass, int] = Field(default_factory=dict)
    reference: BuildOutcome | None = None
    score: EnvScore | None = None
    ideal: BuildOutcome | None = None
    ideal_score: EnvScore | None = None
    qualification: QualificationOutcome | None = Field(
        None, description="Session seeds: what the baseline qualifier makes of the session"
    )
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
    session: str | None = Field(None, description="The session format builders get, if any")
    expect: Literal["fix", "refuse"] = "fix"
    classes: dict[VariantClass, int] = Field(default_factory=dict)


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
    env_score: float | None = Field(None, description="Mean over repeats; failed units are 0")
    repeats: list[float] = Field(default_factory=list)
    failed_repeats: int = Field(0, description="Units the machinery could not finish (0 each)")
    metrics: dict[str, float | None] = Field(default_factory=dict)
    classes: dict[VariantClass, ClassResult] = Field(default_factory=dict)
    qualification: QualificationOutcome | None = None
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
    meta_score: float | None = Field(None, description="Mean EnvScore over the common seeds")
    ci_low: float | None = None
    ci_high: float | None = None
    own_score: float | None = Field(
        None, description="Mean EnvScore over every seed the builder applies to"
    )
    seeds_scored: int = 0
    seeds_not_applicable: int = 0
    seeds_failed: int = 0
    metrics: dict[str, float | None] = Field(default_factory=dict)
    classes: dict[VariantClass, float | None] = Field(
        default_factory=dict, description="Per class: mean over seeds of the share judged right"
    )
    qualification: float | None = Field(None, description="M0 over the session seeds")
    cost: CostTotals = Field(default_factory=CostTotals)
    cells: list[SeedCell] = Field(default_factory=list)


class RenderCheck(BaseModel):
    passed: bool
    browser: str | None = None
    message: str


class PairedComparison(BaseModel):
    """A − B over the common seeds, with a paired bootstrap interval (seeds resampled
    together for both builders, repeats within each seed)."""

    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_a_not_better: float = Field(
        description="Share of bootstrap resamples in which A's mean is not above B's"
    )
    seeds: int

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


class Leaderboard(BaseModel):
    schema_version: int = 2
    generated_at: str
    run_id: str
    command: str
    judge: str | None = None
    repeats: int = 1
    seeds: list[SeedInfo]
    common_seeds: list[str] = Field(
        default_factory=list, description="Seeds every row applies to: MetaScores use these"
    )
    rows: list[BuilderRow]
    comparisons: list[PairedComparison] = Field(default_factory=list)
    skipped_seeds: dict[str, str] = Field(
        default_factory=dict,
        description="Seeds whose project could not be fetched here (e.g. a git URL offline): "
        "left out of every row, never scored",
    )
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


PromptRole = Literal["qualify", "reconstruct", "verifier"]


class BuilderFile(BaseModel):
    """``--builder NAME.toml``: a builder as configuration, so prompt or model variants are
    compared without code changes. Prompt files are jinja templates rendered with
    ``default`` (the role's own prompt, already rendered): replace it, or extend it."""

    schema_version: int = 1
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    model: str = Field(description="'baseline' (no model) or a model name / litellm string")
    api_base: str | None = None
    max_steps: int = Field(60, ge=1, description="Model turns per role")
    max_wall_sec: float = Field(3600.0, gt=0, description="Wall time per role")
    context_window: int | None = Field(None, gt=0)
    budget_usd: float | None = Field(None, gt=0, description="Dollars per build, all roles")
    prompts: dict[PromptRole, str] = Field(
        default_factory=dict, description="Role -> prompt file, relative to the builder file"
    )

    model_config = {"extra": "forbid"}


class RunOptions(BaseModel):
    schema_version: int = 2
    builders: list[str]
    seeds_dir: str
    seeds: list[str] = Field(default_factory=list, description="Seed ids; empty: all")
    repeats: int = Field(
        3, description="Builds per seed of builders that are not deterministic (models)"
    )
    concurrency: int = 1
    trial_workers: int = 2
    reruns: int = 3
    variant_reruns: int = 2
    api_base: str | None = None
    judge: str | None = None
    judge_api_base: str | None = None
    max_steps: int = 60
    probes: bool = Field(True, description="Run the exploit battery (M5); off for quick runs")


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
