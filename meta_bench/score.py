"""Score one built environment against a seed's hidden assets, deterministically.

The scorer never runs the builder's solve.sh: every state it judges is one of the seed's
hidden solutions, applied at the environment's workdir by a patch solver, in fresh
containers started from the builder's image (``meta_bench.variants``):

- ``start``: nothing applied (``reruns`` times) — must score 0;
- ``oracle``: the upstream fix's source part (``reruns`` times) — must score 1;
- each correct variant (``variant_reruns`` times) — should score 1 (recall);
- each wrong variant (``variant_reruns`` times) — should score 0 (kill rate);
- each probe of the exploit battery (once) — should score 0.

Leaks are judged by validation's own leak checks (``tools.validation.validate`` with the ``leak``
category: instruction quoting the fix or naming commits, .git, task files, the fix's lines
in the image) plus the task's network policy for the solving agent.

Metrics (see ``meta_bench.metrics`` for the formulas): M0 qualification (session seeds:
the builder found the upstream fix commit, or refused a negative seed), M1 validity, M2
recall, M3 kill rate (wrong variants and the start state), M4 F1, M5 exploit resistance,
M6 leak-free, M7 determinism (every rerun group gave one verdict), M8 judge alignment
(optional), M10 cost. Every variant's result also counts for its class
(``correct_accepted``, ``correct_rejected``, ``wrong_caught``, ``wrong_missed``), so the
leaderboard shows which class a builder loses on.

An environment built from the wrong fix, or a refusal, needs no trials: M0 decides
(``score_qualification_only``).
Every failed check keeps its evidence: which state, its rewards, its trial folders, and the
tail of the verifier's (and the patch's) output.

Layout of ``out_dir``: ``score.json`` (``EnvScore``), ``build.log``, ``leaks/``
(validation.json of the leak checks), ``trials/<label>-<n>/`` (ordinary trial folders).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BuildError, KettleError
from harness.fsio import write_model
from harness.runner.records import TrialOptions, TrialResult
from harness.runner.solvers import CommandSolver, NopSolver, Solver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from meta_bench import metrics
from meta_bench.cache import TrialCache, environment_digest
from meta_bench.materialize import meta_home
from meta_bench.probes import battery
from meta_bench.records import (
    BuildOutcome,
    ClassResult,
    EnvScore,
    MaterializedSeed,
    Metric,
    ScoreCheck,
    Seed,
    StateKind,
    StateRuns,
    VariantSpec,
)
from meta_bench.variants import patch_solver, variant_label
from tools.repos.git import RepoCache
from tools.validation.image_scan import start_counts_in
from tools.validation.probes import Probe
from tools.validation.validate import HiddenFacts, validate_task
from tools.validation.verdicts import probe_output, tail, verifier_output

_TAIL = 1200


@dataclass
class ScoreJob:
    """One environment to score, and how thoroughly."""

    builder: str
    seed: Seed
    materialized: MaterializedSeed
    variants: list[tuple[VariantSpec, str]]
    task_dir: Path | None
    out_dir: Path
    repeat: int = 1
    reruns: int = 3
    variant_reruns: int = 2
    workers: int = 2
    probes: list[Probe] | None = None  # None: the seed's whole battery
    leaks: bool = True
    judge: Callable[[HarborTask], tuple[float | None, float | None, dict[str, Any]]] | None = None
    qualification: tuple[float | None, ScoreCheck | None] = (None, None)  # M0 and its check
    gate_first: bool = True  # an invalid environment (M1 = 0) is not judged further
    trial_cache: bool = True  # reuse trials of identical environments (meta_bench.cache)


@dataclass
class _Scoring:
    job: ScoreJob
    engine: DockerEngine
    images: TaskImages
    run_id: str
    task: HarborTask
    image: str = ""
    workdir: str = "/"
    cache: TrialCache | None = None
    environment: str = ""

    def trial(self, solver: Solver, trial_id: str, fingerprint: str, number: int) -> TrialResult:
        trial_dir = self.job.out_dir / "trials" / trial_id
        key = self.cache.key(self.environment, fingerprint, number) if self.cache else ""
        if self.cache is not None:
            reused = self.cache.get(key, trial_dir)
            if reused is not None:
                return reused
        result = run_trial(
            self.engine,
            self.images,
            self.task,
            solver,
            trial_dir,
            run_id=self.run_id,
            build_log=self.job.out_dir / "build.log",
            options=TrialOptions(),
        )
        if self.cache is not None:
            self.cache.put(key, trial_dir, result)
        return result

    def runs(
        self,
        pool: ThreadPoolExecutor,
        label: str,
        kind: StateKind,
        make_solver: Callable[[], Solver],
        count: int,
        fingerprint: str,
    ) -> Callable[[], StateRuns]:
        futures: list[Future[TrialResult]] = [
            pool.submit(self.trial, make_solver(), f"{label}-{n}", fingerprint, n)
            for n in range(1, count + 1)
        ]

        def collect() -> StateRuns:
            results = [future.result() for future in futures]
            return StateRuns(
                label=label,
                kind=kind,
                rewards=[None if r.error else r.reward for r in results],
                applied=[
                    r.agent_result is not None and r.agent_result.status == "completed"
                    for r in results
                ],
                trials=[str(self.job.out_dir / "trials" / r.trial_id) for r in results],
                errors=[
                    f"{r.trial_id}: {r.error.type}: {r.error.message}" for r in results if r.error
                ],
            )

        return collect


def _done(states: StateRuns) -> Callable[[], StateRuns]:
    return lambda: states


def score_environment(
    job: ScoreJob, engine: DockerEngine, settings: Settings, *, run_id: str
) -> EnvScore:
    """Score ``job.task_dir``; write ``out_dir/score.json``; return the score."""
    started = time.monotonic()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    score = _score(job, engine, settings, run_id)
    score.cost.score_wall_sec = round(time.monotonic() - started, 3)
    write_model(job.out_dir / "score.json", score)
    return score


def _score(job: ScoreJob, engine: DockerEngine, settings: Settings, run_id: str) -> EnvScore:
    base = EnvScore(builder=job.builder, seed_id=job.seed.id, repeat=job.repeat, status="scored")
    base.m0_qualification, check = job.qualification
    if check is not None:
        base.checks.append(check)
    if job.task_dir is None:
        return _not_built(base, "the builder produced no task directory")
    try:
        task = HarborTask.load(job.task_dir)
    except KettleError as error:
        return _not_built(base, f"the task does not load: {error.message}")
    images = TaskImages(engine, settings)
    try:
        image = images.ensure(task, job.out_dir / "build.log")
    except BuildError as error:
        base.checks.append(
            ScoreCheck(
                name="build",
                metric="M1",
                passed=False,
                message=f"the image does not build: {error.message}",
                evidence={"log_tail": tail(job.out_dir / "build.log", _TAIL)},
            )
        )
        return _not_built(base, "the image does not build")
    scoring = _Scoring(job, engine, images, run_id, task, image=image)
    scoring.workdir = _workdir(engine, task, image)
    if job.trial_cache:
        scoring.cache = TrialCache(meta_home(settings) / "trials")
        scoring.environment = environment_digest(task, image)
    return _judge_states(scoring, base, settings)


def _judge_states(scoring: _Scoring, score: EnvScore, settings: Settings) -> EnvScore:
    job = scoring.job
    score.checks.append(
        ScoreCheck(name="build", metric="M1", passed=True, message=f"builds ({scoring.image})")
    )
    workdir = scoring.workdir
    probes = job.probes if job.probes is not None else battery(job.seed, job.materialized)
    fix = job.materialized.source_diff
    with ThreadPoolExecutor(max_workers=max(job.workers, 1)) as pool:
        leaks = pool.submit(_leak_checks, scoring, settings) if job.leaks else None
        gate = [
            scoring.runs(pool, "start", "start", NopSolver, job.reruns, "nop"),
            scoring.runs(
                pool,
                "oracle",
                "oracle",
                lambda: patch_solver("oracle", fix, workdir),
                job.reruns,
                f"patch\n{workdir}\n{fix}",
            ),
        ]
        if job.gate_first:
            gate = [_done(collect()) for collect in gate]
        valid = not job.gate_first or (gate[0]().all_fail and gate[1]().all_pass)
        pending = list(gate)
        for spec, patch in job.variants if valid else []:
            label = variant_label(spec)
            pending.append(
                scoring.runs(
                    pool,
                    label,
                    spec.kind,
                    lambda label=label, patch=patch: patch_solver(label, patch, workdir),
                    job.variant_reruns,
                    f"patch\n{workdir}\n{patch}",
                )
            )
        for probe in probes if valid else []:
            script = probe.script(workdir)
            pending.append(
                scoring.runs(
                    pool,
                    f"probe-{probe.name}",
                    "probe",
                    lambda probe=probe, script=script: CommandSolver(f"probe-{probe.name}", script),
                    1,
                    f"probe\n{script}",
                )
            )
        states = [collect() for collect in pending]
        leak_checks = leaks.result() if leaks is not None else []
    score.states = states
    by_label = {state.label: state for state in states}
    specs = {variant_label(spec): spec for spec, _ in job.variants} if valid else {}
    probes = probes if valid else []
    checks = score.checks
    checks.append(_start_check(by_label["start"]))
    checks.append(_oracle_check(by_label["oracle"]))
    for label, spec in specs.items():
        checks.append(_variant_check(by_label[label], spec))
    for probe in probes:
        checks.append(_probe_check(by_label[f"probe-{probe.name}"], probe))
    checks.extend(leak_checks)
    checks.append(_determinism_check(states))
    if not valid:
        checks.append(
            ScoreCheck(
                name="variants",
                metric="M1",
                passed=False,
                message="not judged: the environment fails the validity gate (start state "
                "rejected, upstream fix accepted), so its EnvScore is 0 whatever they give",
            )
        )
    if scoring.cache is not None and scoring.cache.hits:
        score.cost.reused_trials = scoring.cache.hits
    _compute(score, specs, probes)
    if job.judge is not None:
        m8, usd, evidence = job.judge(scoring.task)
        score.m8_alignment = m8
        score.cost.judge_usd = usd
        checks.append(
            ScoreCheck(
                name="judge",
                metric="M8",
                passed=m8 is not None and m8 >= 0.5,
                message=f"the judge rates instruction–verifier alignment {m8:.2f}"
                if m8 is not None
                else "the judge gave no verdict: EnvScore is computed without M8",
                evidence=evidence,
            )
        )
        _compute(score, specs, probes)
    return score


def _compute(score: EnvScore, specs: dict[str, VariantSpec], probes: list[Probe]) -> None:
    by_label = {state.label: state for state in score.states}
    build_ok = any(c.name == "build" and c.passed for c in score.checks)
    start, oracle = by_label["start"], by_label["oracle"]
    score.m1_validity = float(build_ok and start.all_fail and oracle.all_pass)
    if not specs and not probes and not score.m1_validity:
        score.m2_recall = score.m3_kill_rate = score.m4_f1 = score.m5_exploit_resistance = None
        _finish_compute(score, 0.0)
        return
    correct = [label for label, spec in specs.items() if spec.kind == "correct"]
    wrong = [label for label, spec in specs.items() if spec.kind == "wrong"]
    accepted = [label for label in correct if by_label[label].all_pass]
    killed = [label for label in [*wrong, "start"] if by_label[label].all_fail]
    score.classes = {}
    for label, spec in specs.items():
        result = score.classes.setdefault(spec.variant_class, ClassResult())
        result.total += 1
        result.right += label in accepted or label in killed
    score.m2_recall = len(accepted) / len(correct) if correct else None
    score.m3_kill_rate = len(killed) / (len(wrong) + 1)
    # Without correct variants there is no recall to balance: F1 falls back to the kill rate.
    score.m4_f1 = (
        metrics.f1(score.m2_recall, score.m3_kill_rate)
        if score.m2_recall is not None
        else score.m3_kill_rate
    )
    resisted = [p for p in probes if by_label[f"probe-{p.name}"].all_fail]
    score.m5_exploit_resistance = len(resisted) / len(probes) if probes else None
    leak_checks = [c for c in score.checks if c.metric == "M6"]
    score.m6_leak_free = float(all(c.passed for c in leak_checks))
    score.m7_determinism = float(all(state.consistent for state in score.states))
    _finish_compute(
        score,
        metrics.env_score(
            score.m1_validity,
            score.m6_leak_free,
            score.m7_determinism,
            score.m4_f1 or 0.0,
            score.m5_exploit_resistance,
            score.m8_alignment,
            score.m0_qualification,
        ),
    )


def _finish_compute(score: EnvScore, value: float) -> None:
    leak_checks = [c for c in score.checks if c.metric == "M6"]
    score.m6_leak_free = float(all(c.passed for c in leak_checks))
    score.m7_determinism = float(all(state.consistent for state in score.states))
    score.env_score = round(value, 6)
    failing = [c.name for c in score.checks if not c.passed]
    score.message = (
        f"EnvScore {score.env_score:.3f}"
        + (f"; failed: {', '.join(failing[:6])}" if failing else "; every check passed")
        + (f" (+{len(failing) - 6} more)" if len(failing) > 6 else "")
    )


def qualification_check(
    seed: Seed, materialized: MaterializedSeed, outcome: BuildOutcome
) -> tuple[float | None, ScoreCheck | None]:
    """M0: on a session seed, did the builder find the upstream fix (or rightly refuse)?"""
    if seed.session is None:
        return None, None
    asked = outcome.qualification
    verdict = asked.verdict if asked else ("refused" if outcome.status == "refused" else "none")
    evidence: dict[str, Any] = {
        "verdict": verdict,
        "fix_commit": asked.fix_commit if asked else None,
        "codes": asked.codes if asked else [],
        "decided_by": asked.decided_by if asked else None,
    }
    if seed.refuses:
        refused = outcome.status == "refused" or (asked is not None and verdict != "qualified")
        expected = ", ".join(seed.session.codes) or "a disqualifier"
        message = (
            f"rightly refused the work ({verdict}: {', '.join(evidence['codes']) or 'no codes'}; "
            f"expected {expected})"
            if refused
            else f"built an environment for work that should be refused ({expected})"
        )
        return float(refused), ScoreCheck(
            name="qualification", metric="M0", passed=refused, message=message, evidence=evidence
        )
    truth = materialized.fix_commit
    found = (asked.fix_commit or "") if asked else ""
    right = verdict == "qualified" and len(found) >= 7 and truth.startswith(found)
    evidence["expected_fix_commit"] = truth
    if right:
        message = f"found the upstream fix {truth[:12]}"
    elif verdict != "qualified":
        why = ", ".join(evidence["codes"]) or (
            f"no disqualifier; its best fix candidate was {found[:12]}" if found else "no fix found"
        )
        message = f"refused work that has a fix ({verdict}: {why})"
    elif found in materialized.distractors or any(
        d.startswith(found) for d in materialized.distractors if found
    ):
        message = f"took the fix-worded distractor {found[:12]} for the fix {truth[:12]}"
    else:
        message = f"took {found[:12] or 'no commit'} for the fix {truth[:12]}"
    return float(right), ScoreCheck(
        name="qualification", metric="M0", passed=right, message=message, evidence=evidence
    )


def score_qualification_only(
    job: ScoreJob, m0: float, check: ScoreCheck, out_dir: Path
) -> EnvScore:
    """A refusal, or an environment built from the wrong fix: no trials, M0 decides. A
    rightly refused negative seed scores 1; anything else here scores 0."""
    score = EnvScore(
        builder=job.builder,
        seed_id=job.seed.id,
        repeat=job.repeat,
        status="scored",
        m0_qualification=m0,
        judged=False,
        checks=[check],
    )
    score.env_score = float(m0 == 1.0 and job.seed.refuses)
    score.message = f"EnvScore {score.env_score:.3f}: {check.message}"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_model(out_dir / "score.json", score)
    return score


def _not_built(score: EnvScore, message: str) -> EnvScore:
    score.status = "not_built"
    score.message = message
    if not any(c.name == "build" for c in score.checks):
        score.checks.append(ScoreCheck(name="build", metric="M1", passed=False, message=message))
    return score


def _workdir(engine: DockerEngine, task: HarborTask, image: str) -> str:
    if task.config.environment.workdir:
        return task.config.environment.workdir
    config = engine.api.inspect_image(image).get("Config") or {}
    return config.get("WorkingDir") or "/"


def _leak_checks(scoring: _Scoring, settings: Settings) -> list[ScoreCheck]:
    job = scoring.job
    materialized = job.materialized
    with RepoCache(settings.home / "repos").open(materialized.repo) as repo:
        counts = start_counts_in(repo, materialized.start_commit, materialized.full_diff)
    hidden = HiddenFacts(
        fix_diff=materialized.full_diff,
        fix_commit=materialized.fix_commit,
        start_commit=materialized.start_commit,
        start_counts=counts,
    )
    report = validate_task(
        scoring.engine,
        settings,
        scoring.task.root,
        hidden=hidden,
        out_dir=job.out_dir / "leaks",
        run_id=scoring.run_id,
        checks={"leak"},
        images=scoring.images,
    )
    checks = [
        ScoreCheck(
            name=check.name,
            metric="M6",
            passed=check.passed or check.severity == "warning",
            message=check.message,
            evidence=check.evidence,
        )
        for check in report.checks
        if check.category == "leak"
    ]
    checks += [
        ScoreCheck(
            name=name,
            metric="M6",
            passed=False,
            message=f"the leak check could not run: {why}",
        )
        for name, why in report.not_run.items()
        if name.startswith("leak:") and "no fix_diff" not in why and "no fix_commit" not in why
    ]
    offline = not scoring.task.config.agent_internet
    checks.append(
        ScoreCheck(
            name="leak:network_during_solve",
            metric="M6",
            passed=offline,
            message="the solving agent has no network"
            if offline
            else "the solving agent has network: it could fetch the fix — set [metadata.kettle] "
            "agent_internet = false or [environment] allow_internet = false",
            evidence={"agent_internet": not offline},
        )
    )
    return checks


def _evidence(state: StateRuns, *, verifier: bool = True, solver: str | None = None) -> dict:
    evidence: dict[str, Any] = {"rewards": state.rewards, "trials": state.trials}
    if state.errors:
        evidence["errors"] = state.errors
    if state.trials and verifier:
        evidence["verifier_output"] = verifier_output(Path(state.trials[0]))
    if solver and state.trials:
        log = Path(state.trials[0]) / "agent" / f"{solver}.txt"
        evidence["solver_output"] = (
            probe_output(log) if solver.startswith("probe-") else tail(log, 600)
        )
    return evidence


def _start_check(state: StateRuns) -> ScoreCheck:
    if state.all_fail:
        message = f"the start state scores 0 in {len(state.rewards)} of {len(state.rewards)} runs"
    else:
        message = f"the start state is not rejected every time (rewards {state.rewards})"
    return ScoreCheck(
        name="start",
        metric="M1",
        passed=state.all_fail,
        message=message,
        evidence=_evidence(state),
    )


def _oracle_check(state: StateRuns) -> ScoreCheck:
    if state.all_pass:
        message = f"the upstream fix scores 1 in {len(state.rewards)} of {len(state.rewards)} runs"
    elif not all(state.applied):
        message = "the upstream fix does not apply at the environment's workdir"
    else:
        message = f"the upstream fix is not accepted every time (rewards {state.rewards})"
    return ScoreCheck(
        name="oracle",
        metric="M1",
        passed=state.all_pass,
        message=message,
        evidence=_evidence(state, solver="oracle"),
    )


def _variant_check(state: StateRuns, spec: VariantSpec) -> ScoreCheck:
    if spec.kind == "correct":
        passed = state.all_pass
        verdict = "accepted" if passed else "rejected"
        metric: Metric = "M2"
    else:
        passed = state.all_fail
        verdict = "rejected" if passed else "accepted"
        metric = "M3"
    applied = "" if all(state.applied) else " (its patch did not apply)"
    return ScoreCheck(
        name=f"{spec.kind}:{spec.name}",
        metric=metric,
        passed=passed,
        message=f"{spec.kind} variant {spec.name} ({spec.technique}) {verdict}{applied}: "
        f"{spec.description}",
        evidence={**_evidence(state, solver=state.label), "technique": spec.technique},
    )


def _probe_check(state: StateRuns, probe: Probe) -> ScoreCheck:
    passed = state.all_fail
    message = (
        f"scored 0 after the probe {probe.summary}"
        if passed
        else f"the verifier gave reward {state.rewards[0]} after the probe {probe.summary}"
    )
    return ScoreCheck(
        name=f"probe:{probe.name}",
        metric="M5",
        passed=passed,
        message=message,
        evidence=_evidence(state, solver=f"probe-{probe.name}"),
    )


def _determinism_check(states: list[StateRuns]) -> ScoreCheck:
    differing = {s.label: s.rewards for s in states if not s.consistent}
    if not differing:
        repeated = sum(1 for s in states if len(s.rewards) > 1)
        return ScoreCheck(
            name="determinism",
            metric="M7",
            passed=True,
            message=f"every one of {repeated} repeated states gave one verdict",
        )
    first = next(iter(differing))
    return ScoreCheck(
        name="determinism",
        metric="M7",
        passed=False,
        message=f"the verifier is flaky: identical runs of {first} scored {differing[first]}",
        evidence={"differing": differing},
    )
