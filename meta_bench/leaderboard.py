"""The leaderboard: per builder, MetaScore with a bootstrap CI, metric means, costs, and a
per-seed drill-down; written as leaderboard.json, leaderboard.md and a static
leaderboard.html, all derived from the unit results on disk (so they can be regenerated).

Rows: contestants (baseline and models) ranked by MetaScore, then the ``reference`` row
and the ``null`` control, which are shown but never ranked. A unit the machinery could not
finish (``failed``) is left out of the mean and counted, never scored as 0; a seed a
builder does not apply to (``not_applicable``) is shown as such.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2

from harness.errors import SetupError
from harness.fsio import write_model, write_text_atomic
from harness.machine.browser import dump_dom, find_chromium
from meta_bench import metrics
from meta_bench.records import (
    BuilderInfo,
    BuilderRow,
    CostTotals,
    FailedCheck,
    Leaderboard,
    RenderCheck,
    SeedCell,
    SeedInfo,
    UnitResult,
)

METRICS = {
    "M1": ("m1_validity", "validity"),
    "M2": ("m2_recall", "recall"),
    "M3": ("m3_kill_rate", "kill rate"),
    "M4": ("m4_f1", "F1"),
    "M5": ("m5_exploit_resistance", "exploit resistance"),
    "M6": ("m6_leak_free", "leak-free"),
    "M7": ("m7_determinism", "determinism"),
    "M8": ("m8_alignment", "judge alignment"),
}
_ROLE_ORDER = {"contestant": 0, "reference": 1, "control": 2}


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
    rows.sort(
        key=lambda r: (
            _ROLE_ORDER.get(r.role, 3),
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
        rows=rows,
        wall_sec=wall_sec,
    )


def _row(info: BuilderInfo, seeds: list[SeedInfo], units: list[UnitResult]) -> BuilderRow:
    row = BuilderRow(builder=info.name, role=info.role, info=info)
    cells = [_cell(seed, [u for u in units if u.seed_id == seed.id]) for seed in seeds]
    row.cells = cells
    scored = [cell for cell in cells if cell.env_score is not None]
    row.seeds_scored = len(scored)
    row.seeds_not_applicable = sum(1 for cell in cells if cell.state == "not_applicable")
    row.seeds_failed = sum(1 for cell in cells if cell.state == "failed")
    values = [cell.env_score for cell in scored if cell.env_score is not None]
    row.meta_score = metrics.mean(values)
    interval = metrics.bootstrap_ci(values)
    if interval is not None:
        row.ci_low, row.ci_high = interval
    for key in METRICS:
        present = [c.metrics[key] for c in scored if c.metrics.get(key) is not None]
        row.metrics[key] = metrics.mean([v for v in present if v is not None])
    row.cost = _costs([u for u in units if u.state != "not_applicable"])
    return row


def _cell(seed: SeedInfo, units: list[UnitResult]) -> SeedCell:
    cell = SeedCell(seed_id=seed.id, state="failed", detail="not run")
    if not units:
        return cell
    cell.folders = [u.folder for u in units]
    done = [u for u in units if u.state in ("scored", "not_built") and u.score is not None]
    if any(u.state == "not_applicable" for u in units):
        cell.state, cell.detail = "not_applicable", units[0].detail
        return cell
    if not done:
        cell.state, cell.detail = "failed", units[0].detail
        return cell
    cell.state = "scored" if any(u.state == "scored" for u in done) else "not_built"
    scores = [u.score for u in done if u.score is not None]
    cell.repeats = [s.env_score for s in scores]
    cell.env_score = metrics.mean(cell.repeats)
    for key, (field, _label) in METRICS.items():
        values = [getattr(s, field) for s in scores if getattr(s, field) is not None]
        cell.metrics[key] = metrics.mean(values)
    cell.detail = scores[0].message
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
    keys = [k for k in METRICS if k != "M8" or board.judge]
    header = ["rank", "builder", "role", "MetaScore [95% CI]", *keys, "seeds", "cost", "build"]
    lines = [
        "# kettle meta-benchmark leaderboard",
        "",
        f"Run `{board.run_id}`, {board.generated_at}; {len(board.seeds)} seeds, "
        f"{board.repeats} build(s) per seed"
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
            _seed_counts(row),
            _usd(row.cost.usd),
            f"{row.cost.build_wall_sec / 60:.1f} min",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "EnvScore = M1·M6·M7·(0.6·M4 + 0.25·M5 + 0.15·M8), weights renormalized without M8; "
        "MetaScore = mean EnvScore over seeds. M1 validity, M2 recall (correct variants), "
        "M3 kill rate (wrong variants and the start state), M4 F1, M5 exploit resistance, "
        "M6 leak-free, M7 determinism, M8 judge alignment.",
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
        lines.append(f"| {seed.id} ({seed.language}) | " + " | ".join(values) + " |")
    lines += ["", "## Builders", ""]
    for row in board.rows:
        info = row.info
        model = f", model `{info.model}` (litellm {info.litellm_version})" if info.model else ""
        lines.append(
            f"- `{row.builder}` ({info.kind}, {row.role}): kettle {info.kettle_version} "
            f"at {info.code_revision}{model}; tokens {row.cost.prompt_tokens} in / "
            f"{row.cost.completion_tokens} out"
        )
    return "\n".join(lines) + "\n"


def render_html(board: Leaderboard) -> str:
    template = resources.files("meta_bench").joinpath("templates/leaderboard.html.j2").read_text()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["num"] = _num
    environment.filters["usd"] = _usd
    environment.filters["pct"] = lambda v: 0 if v is None else round(100 * v, 1)
    keys = [k for k in METRICS if k != "M8" or board.judge]
    return environment.from_string(template).render(
        board=board,
        keys=keys,
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
    if cell.env_score is None:
        return "failed"
    return f"{cell.env_score:.3f}" + (" (not built)" if cell.state == "not_built" else "")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.2f}"
