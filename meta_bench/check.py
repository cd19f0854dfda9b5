"""Is a seed sound? Every hidden variant's class, proven against the upstream tests AND the
ideal control.

``check_seed`` materializes the seed and checks on the host that every patch applies to the
start commit, that no two hidden solutions are the same change, that no patch touches the
upstream or ideal tests, and that every class has enough variants (at least
``MIN_PER_CLASS``, unless ``[exempt]`` in variants.toml says why the bug cannot have one).
It then builds two environments with the controls' machinery and runs, in fresh
containers, the start state, the upstream fix and every variant in each:

- ``reference`` (the upstream tests as the verifier): the start state fails, the upstream
  fix passes, and every variant gets the verdict its ``upstream`` field declares — so
  ``correct_rejected`` variants are really rejected and ``wrong_missed`` ones really
  accepted by the upstream tests;
- ``ideal`` (the seed's ideal tests): the start state fails, the upstream fix passes, every
  correct variant passes and every wrong one fails.

The same scorer the leaderboard uses decides, so a seed that passes here gives the ideal
row full recall and kill rate, and the reference row exactly the classes it declares.

A session seed is also read back through the factory's own intake: the session must load,
name the seed's start commit (directly, or through its workspace and start time), and the
history must hold a fix-worded distractor; what the baseline qualifier makes of it is
recorded. A negative seed (``expect = "refuse"``) has no variants to judge.
"""

from __future__ import annotations

import time
from pathlib import Path

from agents.qualify.baseline import qualify_baseline
from harness.errors import KettleError
from harness.fsio import write_model
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import BuildJob, qualification_outcome, session_candidate
from meta_bench.controls import control_builder
from meta_bench.materialize import materialize
from meta_bench.records import (
    VARIANT_CLASSES,
    BuildOutcome,
    EnvScore,
    HiddenAssets,
    MaterializedSeed,
    Seed,
    SeedCheckReport,
    SeedFinding,
    StateRuns,
    VariantClass,
    VariantSpec,
    VariantVerdict,
)
from meta_bench.score import ScoreJob, score_environment
from meta_bench.seed_format import load_hidden, load_seed
from meta_bench.variants import applies_on_host
from tools.repos.git import RepoCache

MIN_PER_CLASS = 2
# Before the four classes a seed needed this many of each kind; still the floor per kind.
MIN_CORRECT = 2
MIN_WRONG = 3


def check_seed(
    seed_dir: Path,
    engine: DockerEngine,
    settings: Settings,
    out_dir: Path,
    *,
    run_id: str,
    reruns: int = 1,
    workers: int = 2,
) -> SeedCheckReport:
    """Check one seed (see the module doc); write ``out_dir/check.json``; return the report."""
    started = time.monotonic()
    seed = load_seed(seed_dir)
    report = SeedCheckReport(seed_id=seed.id, passed=False, status="broken", findings=[])
    findings = report.findings  # the report's own list: every finding lands in it
    try:
        hidden = load_hidden(seed_dir)
        materialized = materialize(seed, settings)
    except KettleError as error:
        findings.append(SeedFinding(name="materialize", passed=False, message=str(error)))
        return _finish(report, out_dir, started)
    findings.append(
        SeedFinding(
            name="materialize",
            passed=True,
            message=f"start {materialized.start_commit[:12]}, fix {materialized.fix_commit[:12]}; "
            f"source {', '.join(materialized.source_paths) or 'none'}; "
            f"tests {', '.join(materialized.test_paths) or 'none'}",
        )
    )
    if seed.session is not None:
        findings += session_findings(seed, materialized, settings, report)
    if seed.refuses:
        report.status = "checked"
        return _finish(report, out_dir, started)
    findings += static_findings(seed, materialized, hidden.variants, settings, hidden)
    if not materialized.test_paths:
        findings.append(
            SeedFinding(name="upstream_tests", passed=False, message="the fix has no tests")
        )
        return _finish(report, out_dir, started)
    applicable = [(spec, patch) for spec, patch in hidden.variants if _applies(findings, spec)]
    job = BuildJob(seed, materialized, out_dir / "reference", engine, settings, run_id)
    job.hidden = hidden
    report.reference = control_builder("reference").build(job)
    if report.reference.status != "built":
        findings.append(
            SeedFinding(
                name="reference",
                passed=False,
                message="the upstream tests could not be made a verifier: "
                f"{report.reference.message}",
            )
        )
        return _finish(report, out_dir, started)
    report.score = _judge(job, report.reference, applicable, out_dir / "score", reruns, workers)
    if hidden.ideal is not None:
        ideal_job = BuildJob(seed, materialized, out_dir / "ideal", engine, settings, run_id)
        ideal_job.hidden = hidden
        try:
            report.ideal = control_builder("ideal").build(ideal_job)
        except KettleError as error:
            findings.append(SeedFinding(name="ideal", passed=False, message=error.message))
        else:
            report.ideal_score = _judge(
                ideal_job, report.ideal, applicable, out_dir / "ideal-score", reruns, workers
            )
    report.variants = _verdicts(report.score, report.ideal_score, applicable)
    findings += _verdict_findings(report.variants, hidden.ideal is not None)
    report.status = "checked"
    return _finish(report, out_dir, started)


def _judge(
    job: BuildJob,
    build: BuildOutcome,
    variants: list[tuple[VariantSpec, str]],
    out_dir: Path,
    reruns: int,
    workers: int,
) -> EnvScore:
    return score_environment(
        ScoreJob(
            builder=build.builder,
            seed=job.seed,
            materialized=job.materialized,
            variants=variants,
            task_dir=Path(build.task_dir) if build.task_dir else None,
            out_dir=out_dir,
            reruns=reruns,
            variant_reruns=reruns,
            workers=workers,
            probes=[],
            leaks=False,
            gate_first=False,
        ),
        job.engine,
        job.settings,
        run_id=job.run_id,
    )


def _verdict(state: StateRuns | None) -> str:
    if state is None:
        return "not_run"
    if state.all_pass:
        return "accepted"
    if state.all_fail:
        return "rejected"
    return "inconsistent"


def _verdicts(
    upstream: EnvScore | None, ideal: EnvScore | None, variants: list[tuple[VariantSpec, str]]
) -> list[VariantVerdict]:
    by_upstream = {s.label: s for s in upstream.states} if upstream else {}
    by_ideal = {s.label: s for s in ideal.states} if ideal else {}
    rows = [
        VariantVerdict(name="start", kind="start"),
        VariantVerdict(name="oracle", kind="oracle"),
    ]
    rows += [
        VariantVerdict(name=spec.name, kind=spec.kind, declared=spec.variant_class)
        for spec, _ in variants
    ]
    for row in rows:
        label = row.name if row.kind in ("start", "oracle") else f"{row.kind}-{row.name}"
        row.upstream = _verdict(by_upstream.get(label))  # type: ignore[assignment]
        row.ideal = _verdict(by_ideal.get(label))  # type: ignore[assignment]
        if row.kind == "start":
            wanted_upstream, wanted_ideal = "rejected", "rejected"
        elif row.kind == "oracle":
            wanted_upstream, wanted_ideal = "accepted", "accepted"
        else:
            spec = next(spec for spec, _ in variants if spec.name == row.name)
            wanted_upstream = spec.expected_upstream
            wanted_ideal = "accepted" if spec.kind == "correct" else "rejected"
        row.passed = row.upstream == wanted_upstream and row.ideal in (wanted_ideal, "not_run")
    return rows


def _verdict_findings(rows: list[VariantVerdict], has_ideal: bool) -> list[SeedFinding]:
    findings = []
    for row in rows:
        if row.kind == "start":
            what = "the start state: the upstream tests and the ideal tests reject it"
        elif row.kind == "oracle":
            what = "the upstream fix: the upstream tests and the ideal tests accept it"
        else:
            wanted = "accept" if row.kind == "correct" else "reject"
            upstream = (
                "accept" if row.declared in ("correct_accepted", "wrong_missed") else "reject"
            )
            what = (
                f"{row.declared} {row.name}: the upstream tests {upstream} it, "
                f"the ideal tests {wanted} it"
            )
        observed = f"upstream {row.upstream}" + (f", ideal {row.ideal}" if has_ideal else "")
        findings.append(
            SeedFinding(
                name=row.name if row.kind in ("start", "oracle") else f"{row.kind}:{row.name}",
                passed=row.passed,
                message=what if row.passed else f"{what} — but: {observed}",
            )
        )
    if not has_ideal:
        findings.append(
            SeedFinding(
                name="ideal",
                passed=False,
                message="no ideal control: [ideal] command and files in hidden/variants.toml",
            )
        )
    return findings


def static_findings(
    seed: Seed,
    materialized: MaterializedSeed,
    variants: list[tuple[VariantSpec, str]],
    settings: Settings,
    hidden: HiddenAssets | None = None,
) -> list[SeedFinding]:
    """What needs no container: class counts, duplicates, and every patch applying on the host."""
    findings = [_class_counts(variants, hidden.exempt if hidden else {})]
    seen: dict[str, str] = {_normalized(materialized.source_diff): "the upstream fix"}
    for spec, patch in variants:
        key = _normalized(patch)
        if key in seen:
            findings.append(
                SeedFinding(
                    name=f"{spec.kind}:{spec.name}:distinct",
                    passed=False,
                    message=f"{spec.kind} variant {spec.name} is the same change as {seen[key]}",
                )
            )
        seen.setdefault(key, f"{spec.kind} variant {spec.name}")
    with RepoCache(settings.home / "repos").open(materialized.repo) as repo:
        for spec, patch in variants:
            ok, reason = applies_on_host(repo.git_dir, materialized.start_commit, patch)
            findings.append(
                SeedFinding(
                    name=f"{spec.kind}:{spec.name}:applies",
                    passed=ok,
                    message=f"{spec.kind}/{spec.name}.patch applies to the start commit"
                    if ok
                    else f"{spec.kind}/{spec.name}.patch does not apply: {reason}",
                )
            )
    guarded = [*materialized.test_paths, *(hidden.ideal_files if hidden else {})]
    touched = [
        spec.name for spec, patch in variants if any(f" b/{path}\n" in patch for path in guarded)
    ]
    findings.append(
        SeedFinding(
            name="variants_leave_tests_alone",
            passed=not touched,
            message="no variant changes an upstream or ideal test file"
            if not touched
            else f"variants {', '.join(touched)} change upstream or ideal test files",
        )
    )
    return findings


def _class_counts(
    variants: list[tuple[VariantSpec, str]], exempt: dict[VariantClass, str]
) -> SeedFinding:
    counts = {name: 0 for name in VARIANT_CLASSES}
    for spec, _ in variants:
        counts[spec.variant_class] += 1
    short = [name for name, count in counts.items() if count < MIN_PER_CLASS and name not in exempt]
    correct = counts["correct_accepted"] + counts["correct_rejected"]
    wrong = counts["wrong_caught"] + counts["wrong_missed"]
    enough = not short and correct >= MIN_CORRECT and wrong >= MIN_WRONG
    text = ", ".join(f"{count} {name}" for name, count in counts.items())
    if exempt:
        text += "; exempt: " + "; ".join(f"{name} ({why})" for name, why in exempt.items())
    if short:
        text += f" (each class needs >= {MIN_PER_CLASS}, or an [exempt] reason: {', '.join(short)})"
    elif not enough:
        text += f" (a seed needs >= {MIN_CORRECT} correct and >= {MIN_WRONG} wrong variants)"
    return SeedFinding(name="variant_classes", passed=enough, message=text, evidence=counts)


def session_findings(
    seed: Seed, materialized: MaterializedSeed, settings: Settings, report: SeedCheckReport
) -> list[SeedFinding]:
    """The session reads back through the factory's intake and names the right start."""
    assert seed.session is not None
    findings = []
    try:
        candidate = session_candidate(materialized)
    except KettleError as error:
        return [SeedFinding(name="session", passed=False, message=error.message)]
    words = candidate.first_prompt.strip() == seed.intent.first_prompt.strip() and [
        text.strip() for text in candidate.follow_ups
    ] == [text.strip() for text in seed.intent.follow_ups]
    start = candidate.start_commit == materialized.start_commit
    findings.append(
        SeedFinding(
            name="session",
            passed=words and start,
            message=f"the {seed.session.format} session loads with the user's words and names "
            f"the start commit {materialized.start_commit[:12]}"
            if words and start
            else f"the {seed.session.format} session loads, but "
            + ("its start commit is " + str(candidate.start_commit) if not start else "")
            + ("; its words differ from the intent" if not words else ""),
        )
    )
    findings.append(
        SeedFinding(
            name="history",
            passed=bool(materialized.distractors)
            and (seed.refuses or materialized.strategy == "fix_commit"),
            message=f"{len(seed.session.history)} commit(s) "
            + ("after the start and no fix" if seed.refuses else "around the fix")
            + f", {len(materialized.distractors)} fix-worded distractor(s)"
            + (
                "; the fix commit applies to the start on its own"
                if materialized.strategy == "fix_commit"
                else ("" if seed.refuses else f"; strategy {materialized.strategy}")
            )
            if materialized.distractors
            else 'the history needs a fix-worded distractor commit (role = "distractor")',
        )
    )
    try:
        qualification, _ = qualify_baseline(candidate, RepoCache(settings.home / "repos"))
    except KettleError as error:
        findings.append(SeedFinding(name="baseline_qualifier", passed=False, message=error.message))
        return findings
    report.qualification = qualification_outcome(qualification)
    if seed.refuses:
        right = qualification.verdict != "qualified"
    else:
        right = (
            qualification.verdict == "qualified"
            and qualification.fix_commit == materialized.fix_commit
        )
    findings.append(
        SeedFinding(
            name="baseline_qualifier",
            passed=True,  # recorded, not required: the seed is there to measure qualifiers
            message=f"the baseline qualifier says {qualification.verdict}"
            + (f" with fix {qualification.fix_commit[:12]}" if qualification.fix_commit else "")
            + (f" ({', '.join(qualification.codes())})" if qualification.codes() else "")
            + (" — right" if right else " — wrong"),
        )
    )
    return findings


def _applies(findings: list[SeedFinding], spec: VariantSpec) -> bool:
    name = f"{spec.kind}:{spec.name}:applies"
    return all(f.passed for f in findings if f.name == name)


def _normalized(patch: str) -> str:
    lines = [
        line
        for line in patch.splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    return "\n".join(sorted(lines))


def _finish(report: SeedCheckReport, out_dir: Path, started: float) -> SeedCheckReport:
    report.passed = report.status == "checked" and all(f.passed for f in report.findings)
    report.classes = {
        row.declared: sum(1 for r in report.variants if r.declared == row.declared)
        for row in report.variants
        if row.declared is not None
    }
    report.duration_sec = round(time.monotonic() - started, 3)
    write_model(out_dir / "check.json", report)
    return report
