"""python -m harness.build — the factory: agent sessions in, validated Harbor tasks out.

    python -m harness.build                                  # the bundled examples, baseline
    python -m harness.build --sessions ~/.claude/projects --model gemini-3 --out runs/r1 -n 4
    python -m harness.build --out runs/r1                    # resume an interrupted run
    python -m harness.build --executor ray --ray-address auto --out runs/r1   # on a cluster
    python -m harness.build --replay runs/r1 --out runs/r1-replay   # offline, its model replies

Stages per candidate: qualify -> [approval] -> reconstruct -> verifier -> validate ->
[approval] -> publish into RUN_DIR/tasks/<task-id>/. Progress, decisions and costs are in
RUN_DIR/ledger.sqlite; RUN_DIR/summary.json and RUN_DIR/report.html say what happened.
The work is ``agents.factory.build.run_build``; this module only reads the options.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console

from agents.factory.build import run_build
from agents.factory.records import STAGES, BuildConfig
from agents.factory.replay import replay_build
from harness.cli import run_cli
from harness.errors import ConfigError
from harness.executors.base import ExecutorConfig
from harness.fsio import read_model
from harness.llm import BASELINE, ModelSpec, TokenPrice
from tools.sessions.workspace import parse_repo_map

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    sessions: list[Path] = typer.Option(
        [], "--sessions", "-s", help="Session files or folders (Cline, Claude Code, Codex)."
    ),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="A candidates.jsonl file (docs/candidates-format.md)."
    ),
    model: str = typer.Option(
        BASELINE, "--model", "-m", help="baseline, an alias, or litellm name."
    ),
    api_base: str | None = typer.Option(None, "--api-base", help="OpenAI-compatible endpoint."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (resumed if it exists)."),
    concurrency: int | None = typer.Option(
        None, "-n", "--concurrency", min=1, help="Candidates at once (ray: all slots)."
    ),
    executor: str = typer.Option("local", "--executor", help="local | ray"),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (auto, HOST:6379); none: a private one."
    ),
    approve: str = typer.Option("prompt", "--approve", help="prompt | auto | queue"),
    budget_usd: float | None = typer.Option(None, "--budget-usd", help="Model spend cap."),
    budget_tokens: int | None = typer.Option(
        None, "--budget-tokens", min=1, help="Model token cap (prompt + completion), all agents."
    ),
    budget_minutes: float | None = typer.Option(
        None, "--budget-minutes", help="Wall-time cap for the run; a rerun continues."
    ),
    role_budget_usd: float | None = typer.Option(
        None, "--role-budget-usd", help="Spend cap of each model-driven agent."
    ),
    role_budget_tokens: int | None = typer.Option(
        None, "--role-budget-tokens", min=1, help="Token cap of each model-driven agent."
    ),
    price_in: float | None = typer.Option(
        None, "--price-in", min=0, help="USD per million input tokens (unpriced models)."
    ),
    price_out: float | None = typer.Option(
        None, "--price-out", min=0, help="USD per million output tokens (unpriced models)."
    ),
    prices: Path | None = typer.Option(
        None, "--prices", help="A JSON price file (input_per_mtok, output_per_mtok, ...)."
    ),
    stages: str = typer.Option("publish", "--stages", help="Last stage to run, e.g. qualify."),
    repo_map: list[str] = typer.Option(
        [], "--repo-map", help="OLD=NEW: a workspace path or repository URL prefix, mapped."
    ),
    source_format: str | None = typer.Option(None, "--format", help="cline | roo | kilo | ..."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Validation repeats."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Repeat failed stages."),
    requalify: bool = typer.Option(
        False, "--requalify", help="Qualify every candidate again (a rerun of a run folder)."
    ),
    max_steps: int = typer.Option(60, "--max-steps", min=1, help="Model turns per agent."),
    replay: Path | None = typer.Option(
        None, "--replay", help="Rebuild a model-driven run offline from its recorded replies."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Turn agent sessions into validated Harbor tasks."""
    console = Console(stderr=True)

    def work() -> None:
        if approve not in ("prompt", "auto", "queue"):
            raise ConfigError(f"--approve {approve!r} is not one of prompt, auto, queue")
        if stages not in STAGES:
            raise ConfigError(
                f"--stages {stages!r} is not a stage", f"choose one of: {', '.join(STAGES)}"
            )
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r} is not one of local, ray")
        price = _token_price(price_in, price_out, prices)
        # Paths are absolute from here on: later stages run git and tools in other folders.
        run_dir = (out or Path("runs") / datetime.now().strftime("%Y-%m-%d__%H-%M-%S")).resolve()
        if replay is not None:
            if sessions or candidates or model != BASELINE or executor != "local":
                raise ConfigError(
                    "--replay rebuilds a recorded run as it was",
                    "give only --replay, --out, --approve and --repo-map",
                )
            replay_build(
                replay.resolve(),
                run_dir,
                approve=approve,  # type: ignore[arg-type]
                repo_map=parse_repo_map(repo_map),
                console=console,
            )
            return
        inputs = [*sessions, *([candidates] if candidates else [])]
        config = BuildConfig(
            run_id=run_dir.name,
            inputs=[str(path.resolve()) for path in inputs],
            repo_map=parse_repo_map(repo_map),
            source_format=source_format,
            model=None if model == BASELINE else _model_spec(model, api_base, price),
            concurrency=concurrency or 1,
            approve=approve,  # type: ignore[arg-type]
            budget_usd=budget_usd,
            budget_tokens=budget_tokens,
            budget_minutes=budget_minutes,
            role_budget_usd=role_budget_usd,
            role_budget_tokens=role_budget_tokens,
            last_stage=stages,  # type: ignore[arg-type]
            validation_repeats=repeats,
            retry_failed=retry_failed,
            max_steps=max_steps,
            requalify=requalify,
        )
        executor_config = ExecutorConfig(
            kind=executor,  # type: ignore[arg-type]
            ray_address=ray_address,
            local_slots=concurrency or 1,
        )
        run_build(
            config,
            run_dir,
            executor_config,
            concurrency_given=concurrency is not None,
            console=console,
        )

    run_cli(work, debug=debug)


def _token_price(
    price_in: float | None, price_out: float | None, prices: Path | None
) -> TokenPrice | None:
    if prices is not None:
        if price_in is not None or price_out is not None:
            raise ConfigError("give either --prices or --price-in/--price-out, not both")
        return read_model(prices, TokenPrice)
    if price_in is None and price_out is None:
        return None
    if price_in is None or price_out is None:
        raise ConfigError(
            "--price-in and --price-out go together",
            "give both, in USD per million tokens (input, output)",
        )
    return TokenPrice(input_per_mtok=price_in, output_per_mtok=price_out)


def _model_spec(name: str, api_base: str | None, price: TokenPrice | None) -> ModelSpec:
    spec = ModelSpec.resolve(name, api_base)
    return spec.model_copy(update={"price": price}) if price is not None else spec


if __name__ == "__main__":
    app()
