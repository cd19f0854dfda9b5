"""The agent loop: prompt -> model -> keystrokes -> terminal output -> ... -> done.

Thin on purpose: the model gets a terminal and a task; the loop only moves keystrokes and
screens, keeps budgets, records every step, and asks twice before believing "done". Roles
(solver, qualifier, reconstructor, verifier writer) differ only in their task prompt and in
the ``on_complete`` hook that checks their work on the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

import prompts
from harness.agent_reply import AgentReply, parse_reply, reply_schema
from harness.errors import BudgetExhaustedError, ContextWindowError, ModelError, TerminalError
from harness.llm import Model, ModelReply
from harness.run_budget import SharedBudget
from harness.terminal import Terminal, TerminalObservation
from harness.trajectory import (
    Observation,
    ObservationResult,
    TrajectoryWriter,
    bash_command_call,
    task_complete_call,
)

# Returns None to accept completion, or feedback that becomes the model's next observation.
CompletionHook = Callable[[], str | None]


class Budgets(BaseModel):
    max_steps: int = 100
    max_cost_usd: float | None = Field(
        None, description="A reply of unknown price ends the run: the cap could not hold"
    )
    max_wall_sec: float | None = None
    max_tokens: int | None = None
    max_format_errors: int = Field(3, description="Unusable replies in a row before stopping")
    max_command_duration_sec: float = Field(
        60.0, description="The longest wait per command; a wait ends early when the shell is idle"
    )


class LoopResult(BaseModel):
    # completed | budget_exhausted:<which> | format_errors | content_filtered | model_error
    # | terminal_error
    status: str
    reason: str | None = None
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    cost_known: bool = True
    summarizations: int = 0


def protocol_variables(budgets: Budgets, terminal: Terminal) -> dict[str, Any]:
    """What every role prompt needs to render the shared terminal protocol."""
    return {
        "reply_schema": reply_schema(),
        "max_duration": int(budgets.max_command_duration_sec),
        "max_output_bytes": terminal.config.max_output_bytes,
    }


class AgentLoop:
    def __init__(
        self,
        model: Model,
        terminal: Terminal,
        trajectory: TrajectoryWriter,
        *,
        task_prompt: str,
        budgets: Budgets | None = None,
        on_complete: CompletionHook | None = None,
        run_budget: SharedBudget | None = None,
    ) -> None:
        self._model, self._terminal, self._trajectory = model, terminal, trajectory
        self._task_prompt = task_prompt
        self._budgets = budgets or Budgets()
        self._on_complete = on_complete
        self._run_budget = run_budget
        self._result = LoopResult(status="running")
        self._messages: list[dict[str, Any]] = []
        self._confirming = False
        self._format_errors = 0
        self._started = 0.0

    def run(self) -> LoopResult:
        self._started = time.monotonic()
        first = prompts.render(
            "loop_start", task_prompt=self._task_prompt, screen=self._terminal.screen()
        )
        self._messages = [{"role": "user", "content": first}]
        self._trajectory.add_step("user", first)
        self._terminal.read_new()  # the next observation starts after what the model has seen
        status: str | None = None
        while status is None:
            status = self._exhausted_budget() or self._turn()
        self._result.status = status
        self._trajectory.finish(status, reason=self._result.reason)
        return self._result

    def _turn(self) -> str | None:
        if self._near_context_limit():
            self._summarize("proactive")
        try:
            reply = self._model.complete(self._messages, timeout_sec=self._remaining_sec())
        except ContextWindowError:
            self._summarize("context_window_error")
            return None
        except BudgetExhaustedError as error:
            return f"budget_exhausted:{error.which}"
        except ModelError as error:
            self._result.reason = str(error)
            return "model_error"
        self._account(reply)
        self._result.steps += 1
        parsed = parse_reply(reply.content)
        if reply.finish_reason == "length" and parsed.reply is None:
            parsed.error = "the reply was cut off at the output token limit; answer more briefly"
        if parsed.reply is None:
            self._format_errors += 1
            left = self._budgets.max_format_errors - self._format_errors
            # A reply the provider's safety filter withheld is not the model's malformed JSON.
            blocked = reply.finish_reason == "content_filter" and not reply.content.strip()
            feedback = prompts.render(
                "loop_blocked" if blocked else "loop_parse_error",
                error=parsed.error,
                warnings=parsed.warnings,
                attempts_left=left,
            )
            self._record(reply, None, [], feedback)
            if left <= 0:
                what = "safety-blocked" if blocked else "malformed"
                self._result.reason = f"{self._format_errors} {what} replies in a row"
                return "content_filtered" if blocked else "format_errors"
            return None
        self._format_errors = 0
        return self._act(reply, parsed.reply, parsed.warnings)

    def _act(self, reply: ModelReply, action: AgentReply, warnings: list[str]) -> str | None:
        limit = self._budgets.max_command_duration_sec
        remaining = self._remaining_sec()
        if remaining is not None:
            limit = max(min(limit, remaining), 0.0)
        try:
            outputs = [
                self._terminal.run(command.keystrokes, min(command.duration, limit))
                for command in action.commands
            ]
        except TerminalError as error:
            self._result.reason = str(error)
            self._record(reply, action, [], str(error))
            return "terminal_error"
        done = False
        if action.task_complete and self._confirming:
            feedback = self._on_complete() if self._on_complete else None
            done = feedback is None
            observation = feedback or "Task accepted."
            self._confirming = False
        elif action.task_complete:
            self._confirming = True
            observation = prompts.render("loop_confirm", screen=self._terminal.screen())
        else:
            self._confirming = False
            text = "".join(output.output for output in outputs)
            running = next((o.waited_sec for o in reversed(outputs) if not o.became_idle), None)
            observation = prompts.render(
                "loop_observation", output=text, warnings=warnings, still_running_after=running
            )
        self._record(reply, action, outputs, observation)
        return "completed" if done else None

    def _record(
        self,
        reply: ModelReply,
        action: AgentReply | None,
        outputs: list[TerminalObservation],
        observation: str,
    ) -> None:
        step = len(self._trajectory.steps) + 1
        calls = [
            bash_command_call(f"call_{step}_{i}", command.keystrokes, command.duration)
            for i, command in enumerate(action.commands if action else [])
        ]
        results = [
            ObservationResult(source_call_id=call.tool_call_id, content=output.output)
            for call, output in zip(calls, outputs, strict=False)
        ]
        if action is not None and action.task_complete:
            calls.append(task_complete_call(f"call_{step}_done"))
        results.append(ObservationResult(content=observation))
        self._trajectory.add_step(
            "agent",
            reply.content,
            model_name=reply.model_name,
            reasoning_content=reply.reasoning_content,
            tool_calls=calls,
            observation=Observation(results=results),
            metrics=reply.step_metrics(),
        )
        self._messages += [reply.assistant_message, {"role": "user", "content": observation}]

    def _summarize(self, trigger: str) -> None:
        """Replace the history by a handoff the model writes, keeping the task and the screen."""
        self._result.summarizations += 1
        request = {"role": "user", "content": prompts.render("loop_summarize")}
        history = self._messages
        summary = None
        # What a replay needs to make the same calls: how they went, and the summary's usage.
        details: dict[str, Any] = {"trigger": trigger, "messages_replaced": len(history)}
        details["window_errors"] = 0
        for keep in (len(history), 6, 2):  # shrink what is summarized until it fits
            trimmed = history if keep >= len(history) else history[:1] + history[-keep:]
            try:
                reply = self._model.complete([*trimmed, request], timeout_sec=self._remaining_sec())
            except ContextWindowError:
                details["window_errors"] += 1
                continue
            except ModelError as error:
                details["model_error"] = str(error)
                break
            self._account(reply)
            summary = reply.content
            details["summary_metrics"] = reply.step_metrics().model_dump(exclude_none=True)
            break
        if summary is None:
            summary = "(no summary could be written; re-inspect the system before continuing)"
        handoff = prompts.render(
            "loop_handoff",
            task_prompt=self._task_prompt,
            summary=summary,
            screen=self._terminal.screen(),
        )
        self._trajectory.add_context_management_step(summary, details=details)
        self._messages = [{"role": "user", "content": handoff}]
        self._confirming = False

    def _near_context_limit(self) -> bool:
        window = self._model.context_window
        reserve = min(8_000, window // 4)
        return self._model.count_tokens(self._messages) > window - reserve

    def _account(self, reply: ModelReply) -> None:
        result = self._result
        result.prompt_tokens += reply.usage.prompt_tokens
        result.completion_tokens += reply.usage.completion_tokens
        result.cached_tokens += reply.usage.cached_tokens
        if reply.cost_usd is None:
            result.cost_known = False
        else:
            result.cost_usd = (result.cost_usd or 0.0) + reply.cost_usd
        if self._run_budget is not None:
            tokens = reply.usage.prompt_tokens + reply.usage.completion_tokens
            self._run_budget.add(reply.cost_usd, tokens)

    def _remaining_sec(self) -> float | None:
        """Seconds left for this agent: its own budget, and the run's (which other agents
        share), whichever ends first. Model calls, retries and waits stay within it."""
        run_left = self._run_budget.remaining_sec() if self._run_budget is not None else None
        limits = [left for left in (self._own_remaining_sec(), run_left) if left is not None]
        return min(limits) if limits else None

    def _own_remaining_sec(self) -> float | None:
        if self._budgets.max_wall_sec is None:
            return None
        return self._budgets.max_wall_sec - (time.monotonic() - self._started)

    def _exhausted_budget(self) -> str | None:
        budgets, result = self._budgets, self._result
        remaining = self._own_remaining_sec()
        checks = {
            "steps": result.steps >= budgets.max_steps,
            "wall_time": remaining is not None and remaining <= 0,
            # Unknown is not free: a cap that cannot be counted has been reached.
            "cost": budgets.max_cost_usd is not None
            and (not result.cost_known or (result.cost_usd or 0.0) >= budgets.max_cost_usd),
            "tokens": budgets.max_tokens is not None
            and result.prompt_tokens + result.completion_tokens >= budgets.max_tokens,
        }
        which = next((name for name, hit in checks.items() if hit), None)
        if which is None and self._run_budget is not None:
            # The run's budget is shared with every other agent of the run, here or on
            # other nodes: it is checked before each turn, not only at the start.
            which = self._run_budget.exhausted()
        return f"budget_exhausted:{which}" if which else None
