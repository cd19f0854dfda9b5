"""Is a seed sound? Its hidden assets judged by its own upstream tests.

``check_seed`` materializes the seed, checks on the host that every patch applies to the
start commit and that no two hidden solutions are the same, then builds the ``reference``
environment (the baseline machinery with the upstream tests as the verifier) and runs, in
fresh containers: the start state (must fail), the upstream fix (must pass), every correct
variant (must pass) and every wrong variant (must fail). The same scorer the leaderboard
uses decides, so a seed that passes here gives the reference builder full recall and kill
rate.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.errors import KettleError
from harness.fsio import write_model
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import BuildJob, make_builder
from meta_bench.materialize import materialize
from meta_bench.records import MaterializedSeed, Seed, SeedCheckReport, SeedFinding, VariantSpec
from meta_bench.score import ScoreJob, score_environment
from meta_bench.seed_format import load_seed, load_variants
from meta_bench.variants import applies_on_host
from tools.repos.git import RepoCache

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
    variants = load_variants(seed_dir)
    report = SeedCheckReport(seed_id=seed.id, passed=False, status="broken", findings=[])
    findings = report.findings  # the report's own list: every finding lands in it
    try:
        materialized = materialize(seed, settings)
    except KettleError as error:
        findings.append(SeedFinding(name="materialize", passed=False, message=str(error)))
        return _finish(report, out_dir, started)
    findings.append(
        SeedFinding(
            name="materialize",
            passed=True,
            message=f"start {materialized.start_commit[:12]}, fix {materialized.fix_commit[:12]}; "
            f"source {', '.join(materialized.source_paths)}; "
            f"tests {', '.join(materialized.test_paths) or 'none'}",
        )
    )
    findings += static_findings(seed, materialized, variants, settings)
    if not materialized.test_paths:
        findings.append(
            SeedFinding(name="upstream_tests", passed=False, message="the fix has no tests")
        )
        return _finish(report, out_dir, started)
    builder = make_builder("reference")
    build = builder.build(
        BuildJob(seed, materialized, out_dir / "reference", engine, settings, run_id)
    )
    report.reference = build
    if build.status != "built":
        findings.append(
            SeedFinding(
                name="reference",
                passed=False,
                message=f"the upstream tests could not be made a verifier: {build.message}",
            )
        )
        return _finish(report, out_dir, started)
    applicable = [(spec, patch) for spec, patch in variants if _applies(findings, spec)]
    score = score_environment(
        ScoreJob(
            builder="reference",
            seed=seed,
            materialized=materialized,
            variants=applicable,
            task_dir=Path(build.task_dir) if build.task_dir else None,
            out_dir=out_dir / "score",
            reruns=reruns,
            variant_reruns=reruns,
            workers=workers,
            probes=[],
            leaks=False,
        ),
        engine,
        settings,
        run_id=run_id,
    )
    report.score = score
    verdicts = {check.name: check for check in score.checks}
    for name, what in (("start", "the start state fails"), ("oracle", "the upstream fix passes")):
        check = verdicts.get(name)
        findings.append(
            SeedFinding(
                name=name,
                passed=bool(check and check.passed),
                message=f"{what} the upstream tests"
                if check and check.passed
                else (check.message if check else "not run"),
                evidence=_short(check.evidence) if check and not check.passed else {},
            )
        )
    for spec, _ in applicable:
        check = verdicts[f"{spec.kind}:{spec.name}"]
        expected = "pass" if spec.kind == "correct" else "fail"
        findings.append(
            SeedFinding(
                name=f"{spec.kind}:{spec.name}",
                passed=check.passed,
                message=f"{spec.kind} variant {spec.name} "
                + (f"{expected}s" if check.passed else f"does not {expected}")
                + " the upstream tests",
                evidence={} if check.passed else _short(check.evidence),
            )
        )
    report.status = "checked"
    return _finish(report, out_dir, started)


def static_findings(
    seed: Seed,
    materialized: MaterializedSeed,
    variants: list[tuple[VariantSpec, str]],
    settings: Settings,
) -> list[SeedFinding]:
    """What needs no container: counts, duplicates, and every patch applying on the host."""
    findings = []
    correct = [spec.name for spec, _ in variants if spec.kind == "correct"]
    wrong = [spec.name for spec, _ in variants if spec.kind == "wrong"]
    enough = len(correct) >= MIN_CORRECT and len(wrong) >= MIN_WRONG
    findings.append(
        SeedFinding(
            name="variant_counts",
            passed=enough,
            message=f"{len(correct)} correct and {len(wrong)} wrong variants"
            + ("" if enough else f" (a seed needs >= {MIN_CORRECT} and >= {MIN_WRONG})"),
        )
    )
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
    touched = [
        spec.name
        for spec, patch in variants
        if any(f" b/{path}\n" in patch for path in materialized.test_paths)
    ]
    findings.append(
        SeedFinding(
            name="variants_leave_tests_alone",
            passed=not touched,
            message="no variant changes an upstream test file"
            if not touched
            else f"variants {', '.join(touched)} change upstream test files",
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


def _short(evidence: dict[str, object]) -> dict[str, object]:
    keep = ("rewards", "verifier_output", "solver_output", "errors", "trials")
    return {key: evidence[key] for key in keep if key in evidence}


def _finish(report: SeedCheckReport, out_dir: Path, started: float) -> SeedCheckReport:
    report.passed = report.status == "checked" and all(f.passed for f in report.findings)
    report.duration_sec = round(time.monotonic() - started, 3)
    write_model(out_dir / "check.json", report)
    return report
