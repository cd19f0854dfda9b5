"""Agent-loop overhead: harness time per step with a zero-latency model, and what returning
early on an idle shell saves over always sleeping the full `duration` (Terminus-2's way).

    .venv/bin/python benchmarks/bench_loop.py [--steps 40]

Writes benchmarks/results/loop.json. The model is kettle's in-process ScriptedModel, so
every millisecond measured is the harness's own: tmux round trips, idle detection,
trajectory writes, token counting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stats import summary_ms
from harness.llm import ModelReply, ScriptedModel
from harness.loop import AgentLoop, Budgets
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.scripted_server import Script
from harness.settings import Settings
from harness.terminal import Terminal, _PaneState
from harness.trajectory import Agent, TrajectoryWriter
from tests.scripting import done_twice, turn


class TimedModel:
    """Wraps a model to record when each call starts and how long the model itself took."""

    def __init__(self, inner: ScriptedModel) -> None:
        self._inner = inner
        self.calls: list[tuple[float, float]] = []

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def context_window(self) -> int:
        return self._inner.context_window

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return self._inner.count_tokens(messages)

    def complete(
        self, messages: list[dict[str, Any]], *, timeout_sec: float | None = None
    ) -> ModelReply:
        started = time.perf_counter()
        reply = self._inner.complete(messages, timeout_sec=timeout_sec)
        self.calls.append((started, time.perf_counter() - started))
        return reply


class FullSleepTerminal(Terminal):
    """Terminus-2's waiting: sleep the whole duration, whatever the shell does."""

    def _wait_until_idle(
        self, before: _PaneState, duration_sec: float, expects_prompt: bool
    ) -> bool:
        time.sleep(duration_sec)
        return False


def overhead_per_step(engine: DockerEngine, image: str, steps: int) -> dict[str, object]:
    script = Script(turns=[turn("true\n") for _ in range(steps)] + done_twice())
    model = TimedModel(ScriptedModel(script))
    with (
        tempfile.TemporaryDirectory() as scratch,
        engine.start(SandboxSpec(image=image, run_id="bench-loop", role="bench")) as box,
    ):
        terminal = Terminal(box)
        terminal.start()
        writer = TrajectoryWriter(
            Path(scratch) / "trajectory.json",
            session_id="bench",
            agent=Agent(name="bench", version="0"),
        )
        started = time.perf_counter()
        result = AgentLoop(
            model, terminal, writer, task_prompt="benchmark", budgets=Budgets(max_steps=steps + 5)
        ).run()
        total = time.perf_counter() - started
    gaps = [
        (model.calls[i + 1][0] - model.calls[i][0]) - model.calls[i][1]
        for i in range(len(model.calls) - 1)
    ]
    return {
        "status": result.status,
        "steps": result.steps,
        "total_sec": round(total, 3),
        "model_sec": round(sum(duration for _, duration in model.calls), 4),
        "harness_ms_per_step": summary_ms(gaps),
    }


def early_return_vs_full_sleep(
    engine: DockerEngine, image: str, commands: int
) -> dict[str, object]:
    keystrokes, duration = "sleep 0.3; echo done\n", 3.0
    timings: dict[str, float] = {}
    with engine.start(SandboxSpec(image=image, run_id="bench-loop", role="bench")) as box:
        for name, terminal_type in (("early_return", Terminal), ("full_sleep", FullSleepTerminal)):
            terminal = terminal_type(box, workdir="/root")
            terminal.start()
            started = time.perf_counter()
            for _ in range(commands):
                terminal.run(keystrokes, duration)
            timings[name] = time.perf_counter() - started
            terminal.close()
    return {
        "command": keystrokes.strip(),
        "duration_requested_sec": duration,
        "commands": commands,
        "early_return_sec": round(timings["early_return"], 2),
        "full_sleep_sec": round(timings["full_sleep"], 2),
        "speedup": round(timings["full_sleep"] / timings["early_return"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--commands", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/loop.json"))
    args = parser.parse_args()
    engine = DockerEngine.connect()
    image = Settings.from_env().base_image
    try:
        report = {
            "benchmark": "loop",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count()},
            "overhead": overhead_per_step(engine, image, args.steps),
            "idle_detection": early_return_vs_full_sleep(engine, image, args.commands),
        }
    finally:
        engine.reap_orphans(run_id="bench-loop", everything=True)
        engine.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
