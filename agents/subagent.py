"""One model-driven sub-agent: a sandbox, a terminal, the loop, a host-side completion check.

Roles differ in the image they start from, what is copied in before the loop starts, the
prompt, and ``check``: when the model says it is done, ``check(sandbox)`` runs on the host
(copy outputs out, build, validate) and returns None to accept or feedback text that
becomes the model's next observation. Everything the model did is in
``trajectories/<role>.json``; its spending is charged to the stage and the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import prompts
from agents.context import StageContext
from harness.llm import LiteLLMModel, Model, ModelSpec, RetryPolicy
from harness.loop import AgentLoop, Budgets, LoopResult, protocol_variables
from harness.runner.terminus import kettle_version
from harness.sandbox.records import Sandbox, SandboxSpec
from harness.scripted_server import agent_route_base
from harness.terminal import Terminal
from harness.trajectory import Agent, TrajectoryWriter

Check = Callable[[Sandbox], str | None]
Setup = Callable[[Sandbox], None]
ModelFactory = Callable[[], Model]

OUTPUT_DIR = "/kettle/out"


@dataclass(frozen=True)
class AgentSettings:
    """How a run drives its models: which one, where, and how much each agent may spend."""

    model: ModelSpec
    max_steps: int = 60
    max_wall_sec: float = 3600.0
    context_window: int | None = None
    # Each role's own cap (--role-budget-usd / --role-budget-tokens), within the run's.
    max_cost_usd: float | None = None
    max_tokens: int | None = None
    # Builds and test suites run for minutes: one wait covers them (it ends when the shell
    # is idle again), so a long command does not cost a model turn per minute.
    max_command_sec: float = 1800.0
    # A replay: each agent reaches its own recorded script under the model's api_base.
    route_by_agent: bool = False
    retry: RetryPolicy | None = None

    def make_model(self, candidate_id: str = "", role: str = "") -> Model:
        spec = self.model
        if self.route_by_agent and spec.api_base:
            base = agent_route_base(spec.api_base, agent_script_name(candidate_id, role))
            spec = spec.model_copy(update={"api_base": base})
        return LiteLLMModel(spec, context_window=self.context_window, retry=self.retry)


def agent_script_name(candidate_id: str, role: str) -> str:
    """How a replay names the recorded model replies of one agent of one candidate."""
    return f"{candidate_id}/{role}"


def run_subagent(
    context: StageContext,
    agent: AgentSettings,
    *,
    role: str,
    image: str,
    prompt_name: str,
    prompt_variables: dict[str, object],
    setup: Setup,
    check: Check,
    make_model: ModelFactory | None = None,
    workdir: str | None = None,
) -> LoopResult:
    model = make_model() if make_model else agent.make_model(context.candidate.id, role)
    # The run's dollars and deadline are checked live by the loop (run_budget below); the
    # deadline also bounds each model call, so the agent's own wall budget ends there.
    run_seconds = context.costs.remaining_sec()
    wall_sec = agent.max_wall_sec if run_seconds is None else min(agent.max_wall_sec, run_seconds)
    budgets = Budgets(
        max_steps=agent.max_steps,
        max_wall_sec=wall_sec,
        max_cost_usd=agent.max_cost_usd,
        max_tokens=agent.max_tokens,
        max_command_duration_sec=agent.max_command_sec,
    )
    spec = SandboxSpec(
        image=image,
        run_id=context.run_id,
        role=role,
        network="bridge",  # builders install dependencies; solvers are the ones kept offline
        memory_mb=4096,
        workdir=workdir,
    )
    with context.engine.start(spec) as sandbox:
        sandbox.exec(f"mkdir -p {OUTPUT_DIR}", user="0")
        setup(sandbox)
        terminal = Terminal(sandbox, workdir=workdir)
        terminal.start()
        writer = TrajectoryWriter(
            context.workspace.trajectories / f"{role}.json",
            session_id=str(uuid.uuid4()),
            agent=Agent(
                name=f"kettle-{role}", version=kettle_version(), model_name=model.model_name
            ),
            extra={"candidate_id": context.candidate.id, "role": role},
        )
        task_prompt = prompts.render(
            prompt_name,
            output_dir=OUTPUT_DIR,
            **protocol_variables(budgets, terminal),
            **prompt_variables,
        )
        loop = AgentLoop(
            model,
            terminal,
            writer,
            task_prompt=task_prompt,
            budgets=budgets,
            on_complete=lambda: check(sandbox),
            run_budget=context.costs,
        )
        result = loop.run()
    context.charge(result.cost_usd)
    return result
