"""Draft a seed from a repository and a fix: seed.toml, plus the mutants the upstream
tests reject as wrong variants.

The draft is a starting point for a person: the intent is the fix commit's message (to be
rewritten in the user's voice), and correct variants, a partial fix and a special-casing
fix still have to be written by hand. Mutants the upstream tests do not reject are listed
in the report, never kept: either they are equivalent to the fix or the upstream tests
have a gap, and a person must decide which.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

import tomli_w

from harness.errors import ConfigError
from harness.fsio import write_model, write_text_atomic
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import BuildJob, make_builder
from meta_bench.materialize import materialize, meta_home
from meta_bench.mutate import mutants
from meta_bench.records import (
    DraftReport,
    Intent,
    MaterializedSeed,
    Mutant,
    MutantVerdict,
    RepoSource,
    Seed,
    VariantSpec,
)
from meta_bench.score import ScoreJob, score_environment
from meta_bench.seed_format import HIDDEN_DIR, SEED_FILE, VARIANTS_FILE
from meta_bench.variants import tree_with_patch, variant_label
from tools.repos.git import RepoCache


def draft_seed(
    repo: str,
    start: str,
    fix: str,
    out_dir: Path,
    engine: DockerEngine,
    settings: Settings,
    *,
    run_id: str,
    seed_id: str | None = None,
    language: str | None = None,
    license_id: str = "NOASSERTION",
    max_mutants: int = 12,
    keep: int = 5,
    workers: int = 2,
) -> DraftReport:
    """Write a draft seed into ``out_dir`` (see the module doc) and return what happened."""
    if (out_dir / SEED_FILE).exists():
        raise ConfigError(f"{out_dir / SEED_FILE} exists", "choose a new --out folder")
    with RepoCache(settings.home / "repos").open(repo) as handle:
        fix_sha = handle.resolve(fix)
        subject = handle.commit_info(fix).message if fix_sha else ""
    seed = Seed(
        id=seed_id or _slug(f"{Path(repo.rstrip('/')).name.removesuffix('.git')}-{fix[:8]}"),
        title=(subject.splitlines() or ["(write a title)"])[0][:120],
        language=language or "unknown",
        license=license_id,
        source=RepoSource(kind="git", url=repo),
        start_ref=start,
        fix_ref=fix,
        intent=Intent(first_prompt=subject.strip() or "(the user's request, in their words)"),
    )
    materialized = materialize(seed, settings)
    seed.upstream_test_paths = materialized.test_paths
    if language is None:
        seed.language = _language(materialized.source_paths)
    _write_seed(out_dir, seed, [])
    work = meta_home(settings) / "drafts" / seed.id
    report = DraftReport(seed_id=seed.id, seed_dir=str(out_dir), work_dir=str(work))
    candidates = _mutants(materialized, settings, max_mutants)
    if not candidates:
        report.message = "no mutant of the fix parses; write wrong variants by hand"
        write_model(work / "draft-report.json", report)
        return report
    build = make_builder("reference").build(
        BuildJob(seed, materialized, work / "reference", engine, settings, run_id)
    )
    report.reference = build
    if build.status != "built" or not build.task_dir:
        report.message = f"the upstream tests could not be made a verifier: {build.message}"
        write_model(work / "draft-report.json", report)
        return report
    specs = [
        (
            VariantSpec(
                name=m.name,
                kind="wrong",
                upstream="rejected",
                technique=m.technique,
                description=m.description,
                rationale="(a mutant of the fix: which of the user's words rule it out?)",
            ),
            patch,
        )
        for m, patch in candidates
    ]
    score = score_environment(
        ScoreJob(
            builder="reference",
            seed=seed,
            materialized=materialized,
            variants=specs,
            task_dir=Path(build.task_dir),
            out_dir=work / "score",
            reruns=1,
            variant_reruns=1,
            workers=workers,
            probes=[],
            leaks=False,
            gate_first=False,
        ),
        engine,
        settings,
        run_id=run_id,
    )
    states = {state.label: state for state in score.states}
    kept: list[tuple[VariantSpec, str]] = []
    for spec, patch in specs:
        state = states[variant_label(spec)]
        rejected = None if any(r is None for r in state.rewards) else state.all_fail
        report.mutants.append(
            MutantVerdict(
                name=spec.name,
                technique=spec.technique,
                description=spec.description,
                rejected=rejected,
                rewards=state.rewards,
            )
        )
        if rejected and len(kept) < keep:
            kept.append((spec, patch))
    _write_seed(out_dir, seed, kept)
    report.kept = [spec.name for spec, _ in kept]
    survivors = [m.name for m in report.mutants if m.rejected is False]
    report.message = f"kept {len(kept)} of {len(specs)} mutants the upstream tests reject" + (
        f"; {len(survivors)} survived ({', '.join(survivors)})" if survivors else ""
    )
    write_model(work / "draft-report.json", report)
    return report


def _mutants(
    materialized: MaterializedSeed, settings: Settings, limit: int
) -> list[tuple[Mutant, str]]:
    """Mutants of the fix's source files, each as a patch against the start commit."""
    with tempfile.TemporaryDirectory(prefix="kettle-draft-") as scratch:
        root = Path(scratch)
        with RepoCache(settings.home / "repos").open(materialized.repo) as repo:
            git_dir = repo.git_dir
            start = {
                path: _text(repo.read_file(materialized.start_commit, path))
                for path in materialized.source_paths
            }
            fixed = {
                path: _text(repo.read_file(materialized.fix_commit, path))
                for path in materialized.source_paths
            }
            tree_with_patch(git_dir, materialized.start_commit, "", root / "tree")
        tree = root / "tree"
        _run(tree, ["init", "-q"])
        _run(tree, ["add", "-A", "-f", "."])
        _run(tree, ["-c", "user.name=k", "-c", "user.email=k@k", "commit", "-q", "-m", "start"])
        found = []
        for mutant in mutants(start, fixed, limit=limit):
            for path, text in mutant.files.items():
                target = tree / path
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
            _run(tree, ["add", "-A", "-f", "."])
            patch = _run(tree, ["diff", "--cached", "--no-color", "--no-renames"])
            _run(tree, ["reset", "-q", "--hard", "HEAD"])
            _run(tree, ["clean", "-q", "-fdx"])
            found.append((mutant, patch))
        return found


def _write_seed(out_dir: Path, seed: Seed, wrong: list[tuple[VariantSpec, str]]) -> None:
    hidden = out_dir / HIDDEN_DIR
    for kind in ("correct", "wrong"):
        (hidden / kind).mkdir(parents=True, exist_ok=True)
    data = seed.model_dump(mode="json", exclude_none=True)
    if not data["source"].get("fix_paths"):
        data["source"].pop("fix_paths", None)
    header = (
        "# Drafted by `python -m meta_bench.seed new`. Rewrite [intent] in the user's voice;\n"
        "# under hidden/ add >= 2 variants of each class (correct_accepted, correct_rejected,\n"
        "# wrong_caught, wrong_missed) with rationales in the user's words, and an [ideal]\n"
        "# control; then run `python -m meta_bench.seed check` on this folder.\n"
    )
    write_text_atomic(out_dir / SEED_FILE, header + tomli_w.dumps(data))
    for spec, patch in wrong:
        write_text_atomic(hidden / "wrong" / f"{spec.name}.patch", patch)
    variants_path = hidden / VARIANTS_FILE
    existing = (
        tomllib.loads(variants_path.read_text(encoding="utf-8")).get("variants", [])
        if variants_path.is_file()
        else []
    )
    names = {entry["name"] for entry in existing}
    entries = existing + [
        spec.model_dump(exclude_none=True) for spec, _ in wrong if spec.name not in names
    ]
    write_text_atomic(variants_path, tomli_w.dumps({"variants": entries}))


def _language(paths: list[str]) -> str:
    suffixes = [Path(path).suffix for path in paths]
    if any(s == ".py" for s in suffixes):
        return "python"
    if any(s in (".js", ".mjs", ".cjs", ".ts") for s in suffixes):
        return "javascript"
    return "unknown"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:60] or "seed"


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _run(cwd: Path, args: list[str]) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise ConfigError(f"git {args[0]} failed: {result.stderr.strip()[-200:]}")
    return result.stdout
