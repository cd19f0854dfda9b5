"""The leaderboard: per builder, MetaScore with a bootstrap CI, metric means, per-class
results, paired comparisons, costs, and a per-seed drill-down; written as leaderboard.json,
leaderboard.md and a static leaderboard.html, all derived from the unit results on disk
(so they can be regenerated).

Rows: contestants (baseline, models, builder files) ranked by MetaScore, then the
``reference`` row, the controls (``ideal``, ``null``) and the calibration builders, which
are shown but never ranked. Every row is scored on the **common seeds**: those every row on
the board applies to (a seed a builder does not apply to is shown as n/a and leaves the
common set). A unit the machinery could not finish counts 0 and is shown as failed. Each
row's interval resamples seeds, then each seed's repeats (``meta_bench.metrics``); each
comparison is a paired bootstrap of the difference over the common seeds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from itertools import pairwise
from pathlib import Path

import jinja2

from harness.errors import SetupError
from harness.fsio import write_model, write_text_atomic
from harness.machine.browser import dump_dom, find_chromium
from meta_bench import metrics
from meta_bench.records import (
    VARIANT_CLASSES,
    BuilderInfo,
    BuilderRow,
    ClassResult,
    CostTotals,
    FailedCheck,
    Leaderboard,
    PairedComparison,
    RenderCheck,
    SeedCell,
    SeedInfo,
    UnitResult,
)

METRICS = {
    "M0": ("m0_qualification", "qualification"),
    "M1": ("m1_validity", "validity"),
    "M2": ("m2_recall", "recall"),
    "M3": ("m3_kill_rate", "kill rate"),
    "M4": ("m4_f1", "F1"),
    "M5": ("m5_exploit_resistance", "exploit resistance"),
    "M6": ("m6_leak_free", "leak-free"),
    "M7": ("m7_determinism", "determinism"),
    "M8": ("m8_alignment", "judge alignment"),
}
CLASS_LABELS = {
    "correct_accepted": "correct, upstream accepts",
    "correct_rejected": "correct, upstream rejects",
    "wrong_caught": "wrong, upstream catches",
    "wrong_missed": "wrong, upstream misses",
}
_ROLE_ORDER = {"contestant": 0, "reference": 1, "control": 2, "calibration": 3}
# Rows every other row is compared with, when they are on the board.
_YARDSTICKS = ("ideal", "reference")


def build_leaderboard(
    run_id: str,
    command: str,
    seeds: list[SeedInfo],
    builders: list[BuilderInfo],
    units: list[UnitResult],
    *,
    judge: str | None = None,
    repeats: int = 1,
    wall_sec: float | None = None,
) -> Leaderboard:
    rows = [_row(info, seeds, [u for u in units if u.builder == info.name]) for info in builders]
    common = [
        seed.id
        for seed in seeds
        if all(_cell_of(row, seed.id).state != "not_applicable" for row in rows)
    ]
    for row in rows:
        _score_row(row, common)
    rows.sort(
        key=lambda r: (
            _ROLE_ORDER.get(r.role, 4),
            -(r.meta_score if r.meta_score is not None else -1),
            r.builder,
        )
    )
    rank = 0
    for row in rows:
        if row.role == "contestant" and row.meta_score is not None:
            rank += 1
            row.rank = rank
    return Leaderboard(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=run_id,
        command=command,
        judge=judge,
        repeats=repeats,
        seeds=seeds,
        common_seeds=common,
        rows=rows,
        comparisons=compare_rows(rows, common),
        wall_sec=wall_sec,
    )


def per_seed_repeats(row: BuilderRow, seed_ids: list[str]) -> dict[str, list[float]]:
    """Each seed's EnvScores (one per repeat; failed units count 0)."""
    found = {}
    for seed_id in seed_ids:
        cell = _cell_of(row, seed_id)
        if cell.state != "not_applicable":
            found[seed_id] = [*cell.repeats, *([0.0] * cell.failed_repeats)] or [0.0]
    return found


def compare_rows(rows: list[BuilderRow], common: list[str]) -> list[PairedComparison]:
    """Each row against the yardsticks (ideal, reference), and each ranked contestant
    against the next one down."""
    by_name = {row.builder: row for row in rows}
    pairs: list[tuple[str, str]] = []
    for yardstick in _YARDSTICKS:
        if yardstick in by_name:
            pairs += [(yardstick, row.builder) for row in rows if row.builder != yardstick]
    ranked = [row.builder for row in rows if row.rank is not None]
    pairs += list(pairwise(ranked))
    seen: set[frozenset[str]] = set()
    comparisons = []
    for a, b in pairs:
        if frozenset((a, b)) in seen:
            continue
        seen.add(frozenset((a, b)))
        result = metrics.paired_bootstrap(
            per_seed_repeats(by_name[a], common), per_seed_repeats(by_name[b], common)
        )
        if result is None:
            continue
        diff, low, high, not_better = result
        comparisons.append(
            PairedComparison(
                a=a,
                b=b,
                diff=round(diff, 6),
                ci_low=round(low, 6),
                ci_high=round(high, 6),
                p_a_not_better=round(not_better, 4),
                seeds=len(common),
            )
        )
    return comparisons


def _cell_of(row: BuilderRow, seed_id: str) -> SeedCell:
    return next(cell for cell in row.cells if cell.seed_id == seed_id)


def _row(info: BuilderInfo, seeds: list[SeedInfo], units: list[UnitResult]) -> BuilderRow:
    row = BuilderRow(builder=info.name, role=info.role, info=info)
    cells = [_cell(seed, [u for u in units if u.seed_id == seed.id]) for seed in seeds]
    row.cells = cells
    scored = [cell for cell in cells if cell.state in ("scored", "not_built")]
    row.seeds_scored = len(scored)
    row.seeds_not_applicable = sum(1 for cell in cells if cell.state == "not_applicable")
    row.seeds_failed = sum(1 for cell in cells if cell.state == "failed")
    for key in METRICS:
        present = [c.metrics[key] for c in scored if c.metrics.get(key) is not None]
        row.metrics[key] = metrics.mean([v for v in present if v is not None])
    row.qualification = row.metrics.get("M0")
    for name in VARIANT_CLASSES:
        rates = [c.classes[name].rate for c in scored if name in c.classes]
        row.classes[name] = metrics.mean([rate for rate in rates if rate is not None])
    row.cost = _costs([u for u in units if u.state != "not_applicable"])
    return row


def _score_row(row: BuilderRow, common: list[str]) -> None:
    on_common = per_seed_repeats(row, common)
    values = [metrics.mean(repeats) or 0.0 for repeats in on_common.values()]
    row.meta_score = metrics.mean(values)
    interval = metrics.bootstrap_ci(list(on_common.values()))
    if interval is not None:
        row.ci_low, row.ci_high = interval
    own = per_seed_repeats(row, [cell.seed_id for cell in row.cells])
    row.own_score = metrics.mean([metrics.mean(repeats) or 0.0 for repeats in own.values()])


def _cell(seed: SeedInfo, units: list[UnitResult]) -> SeedCell:
    cell = SeedCell(seed_id=seed.id, state="failed", detail="not run")
    if not units:
        return cell
    cell.folders = [u.folder for u in units]
    done = [u for u in units if u.state in ("scored", "not_built") and u.score is not None]
    if any(u.state == "not_applicable" for u in units):
        cell.state, cell.detail = "not_applicable", units[0].detail
        return cell
    failed = [u for u in units if u not in done]
    cell.failed_repeats = len(failed)
    if not done:
        cell.state, cell.detail, cell.env_score = "failed", units[0].detail, 0.0
        return cell
    cell.state = "scored" if any(u.state == "scored" for u in done) else "not_built"
    scores = [u.score for u in done if u.score is not None]
    cell.repeats = [s.env_score for s in scores]
    cell.env_score = metrics.mean([*cell.repeats, *([0.0] * len(failed))])
    for key, (field, _label) in METRICS.items():
        # Without an environment (a refusal, the wrong fix) only M0 says anything.
        judged = [s for s in scores if s.judged or key == "M0"]
        values = [getattr(s, field) for s in judged if getattr(s, field) is not None]
        cell.metrics[key] = metrics.mean(values)
    for score in scores:
        for name, result in score.classes.items():
            total = cell.classes.setdefault(name, ClassResult())
            total.total += result.total
            total.right += result.right
    cell.qualification = next((u.build.qualification for u in done if u.build), None)
    cell.detail = scores[0].message + (
        f" ({len(failed)} failed repeat(s) counted 0: {failed[0].detail})" if failed else ""
    )
    for score in scores:
        for check in score.failures:
            cell.failed_checks.append(
                FailedCheck(
                    repeat=score.repeat,
                    name=check.name,
                    metric=check.metric,
                    message=check.message,
                    evidence=_evidence_text(check.evidence),
                )
            )
    builds = [u.build for u in done if u.build is not None]
    costs = [b.cost_usd for b in builds]
    cell.cost_usd = None if any(c is None for c in costs) else round(sum(costs), 6)  # type: ignore[arg-type]
    cell.build_wall_sec = round(sum(b.wall_sec for b in builds), 3)
    return cell


def _costs(units: list[UnitResult]) -> CostTotals:
    builds = [u.build for u in units if u.build is not None]
    scores = [u.score for u in units if u.score is not None]
    prices = [b.cost_usd for b in builds]
    judge = [s.cost.judge_usd for s in scores if s.cost.judge_usd is not None]
    return CostTotals(
        usd=None if any(p is None for p in prices) else round(sum(p or 0.0 for p in prices), 6),
        prompt_tokens=sum(b.prompt_tokens for b in builds),
        completion_tokens=sum(b.completion_tokens for b in builds),
        build_wall_sec=round(sum(b.wall_sec for b in builds), 3),
        score_wall_sec=round(sum(s.cost.score_wall_sec for s in scores), 3),
        judge_usd=round(sum(judge), 6) if judge else None,
    )


def _evidence_text(evidence: dict[str, object]) -> str:
    parts = []
    for key in ("rewards", "errors", "solver_output", "verifier_output", "paths", "copies"):
        value = evidence.get(key)
        if value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else str(value)
        parts.append(f"{key}: {text[-800:]}")
    return "\n".join(parts)


# --- output -----------------------------------------------------------------------------


def write_leaderboard(board: Leaderboard, out_dir: Path) -> dict[str, Path]:
    paths = {
        "json": out_dir / "leaderboard.json",
        "md": out_dir / "leaderboard.md",
        "html": out_dir / "leaderboard.html",
    }
    write_text_atomic(paths["md"], render_markdown(board))
    write_text_atomic(paths["html"], render_html(board))
    write_model(paths["json"], board)
    return paths


def render_markdown(board: Leaderboard) -> str:
    keys = _metric_keys(board)
    classes = list(VARIANT_CLASSES)
    header = ["rank", "builder", "role", "MetaScore [95% CI]", *keys, *classes, "seeds", "cost"]
    header.append("build")
    lines = [
        "# kettle meta-benchmark leaderboard",
        "",
        f"Run `{board.run_id}`, {board.generated_at}; {len(board.seeds)} seeds "
        f"({len(board.common_seeds)} common to every builder), up to {board.repeats} build(s) "
        "per seed"
        + (f"; judge {board.judge}" if board.judge else "")
        + (f"; wall time {board.wall_sec / 60:.1f} min" if board.wall_sec else "")
        + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in board.rows:
        cells = [
            str(row.rank or "—"),
            f"`{row.builder}`",
            row.role,
            _score_ci(row),
            *[_num(row.metrics.get(key)) for key in keys],
            *[_num(row.classes.get(name)) for name in classes],
            _seed_counts(row),
            _usd(row.cost.usd),
            f"{row.cost.build_wall_sec / 60:.1f} min",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "EnvScore = M0·M1·M6·M7·(0.6·M4 + 0.25·M5 + 0.15·M8), weights renormalized without "
        "M8; a negative seed's EnvScore is M0. MetaScore = mean EnvScore over the common seeds "
        "(failed units count 0), 95% interval from a bootstrap over seeds and repeats. "
        "M0 qualification (session seeds: found the fix or rightly refused), M1 validity, "
        "M2 recall (correct variants), M3 kill rate (wrong variants and the start state), "
        "M4 F1, M5 exploit resistance, M6 leak-free, M7 determinism, M8 judge alignment. "
        "Classes: the share of each class of hidden variants judged right — "
        + "; ".join(f"{name}: {label}" for name, label in CLASS_LABELS.items())
        + ".",
    ]
    if board.skipped_seeds:
        lines += ["", "Skipped (not fetchable here, never scored): "]
        lines += [f"- {seed}: {why}" for seed, why in board.skipped_seeds.items()]
    if board.comparisons:
        lines += [
            "",
            "## Paired comparisons",
            "",
            "| A | B | A − B [95% CI] | P(A not above B) | significant |",
            "|---|---|---|---|---|",
        ]
        for item in board.comparisons:
            lines.append(
                f"| `{item.a}` | `{item.b}` | {item.diff:+.3f} [{item.ci_low:+.3f}, "
                f"{item.ci_high:+.3f}] | {item.p_a_not_better:.3f} | "
                f"{'yes' if item.significant else 'no'} |"
            )
    lines += [
        "",
        "## EnvScore per seed",
        "",
        "| seed | " + " | ".join(f"`{row.builder}`" for row in board.rows) + " |",
        "|---|" + "|".join("---" for _ in board.rows) + "|",
    ]
    for seed in board.seeds:
        values = []
        for row in board.rows:
            cell = next(c for c in row.cells if c.seed_id == seed.id)
            values.append(_cell_text(cell))
        lines.append(f"| {_seed_label(seed)} | " + " | ".join(values) + " |")
    lines += ["", "## Builders", ""]
    for row in board.rows:
        info = row.info
        model = f", model `{info.model}` (litellm {info.litellm_version})" if info.model else ""
        defect = f"; defect: {info.defect}" if info.defect else ""
        config = (
            f"; file `{info.config_path}` sha256 {info.config_sha256[:16]}"
            if info.config_path and info.config_sha256
            else ""
        )
        lines.append(
            f"- `{row.builder}` ({info.kind}, {row.role}): kettle {info.kettle_version} "
            f"at {info.code_revision}{model}{config}{defect}; tokens {row.cost.prompt_tokens} "
            f"in / {row.cost.completion_tokens} out"
        )
    return "\n".join(lines) + "\n"


def _metric_keys(board: Leaderboard) -> list[str]:
    sessions = any(seed.session for seed in board.seeds)
    return [k for k in METRICS if (k != "M8" or board.judge) and (k != "M0" or sessions)]


def _seed_label(seed: SeedInfo) -> str:
    tags = [seed.language]
    if seed.session:
        tags.append(f"{seed.session} session")
    if seed.expect == "refuse":
        tags.append("negative")
    return f"{seed.id} ({', '.join(tags)})"


def render_html(board: Leaderboard) -> str:
    template = resources.files("meta_bench").joinpath("templates/leaderboard.html.j2").read_text()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["num"] = _num
    environment.filters["usd"] = _usd
    environment.filters["pct"] = lambda v: 0 if v is None else round(100 * v, 1)
    return environment.from_string(template).render(
        board=board,
        keys=_metric_keys(board),
        classes=list(VARIANT_CLASSES),
        class_labels=CLASS_LABELS,
        seed_label=_seed_label,
        labels={key: label for key, (_field, label) in METRICS.items()},
        score_ci=_score_ci,
        seed_counts=_seed_counts,
        cell_text=_cell_text,
    )


def check_render(html_path: Path, board: Leaderboard) -> RenderCheck:
    """Render the page in headless Chromium; its script must have run over every row."""
    binary = find_chromium()
    if binary is None:
        return RenderCheck(
            passed=False,
            message="no Chromium on this machine (python -m harness.setup --browser installs it)",
        )
    from harness.machine.browser import chromium_version

    try:
        dom = dump_dom(binary, html_path)
    except SetupError as error:
        return RenderCheck(passed=False, browser=str(binary), message=error.message)
    expected = f"rendered {len(board.rows)} builders and {len(board.seeds)} seeds"
    missing = [row.builder for row in board.rows if f'data-builder="{row.builder}"' not in dom]
    passed = expected in dom and not missing
    return RenderCheck(
        passed=passed,
        browser=chromium_version(binary),
        message=f"headless Chromium ran the page's script: {expected}"
        if passed
        else f"the rendered page lacks {expected!r}"
        + (f" or rows for {', '.join(missing)}" if missing else ""),
    )


def _score_ci(row: BuilderRow) -> str:
    if row.meta_score is None:
        return "n/a"
    if row.ci_low is None or row.ci_high is None:
        return f"{row.meta_score:.3f}"
    return f"{row.meta_score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def _seed_counts(row: BuilderRow) -> str:
    text = str(row.seeds_scored)
    if row.seeds_not_applicable:
        text += f" (+{row.seeds_not_applicable} n/a)"
    if row.seeds_failed:
        text += f" ({row.seeds_failed} failed)"
    return text


def _cell_text(cell: SeedCell) -> str:
    if cell.state == "not_applicable":
        return "n/a"
    if cell.state == "failed":
        return "0.000 (failed)"
    text = f"{cell.env_score or 0.0:.3f}" + (" (not built)" if cell.state == "not_built" else "")
    return text + (f" ({cell.failed_repeats} failed)" if cell.failed_repeats else "")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.2f}"
