"""How each role does its job: ``baseline`` (deterministic code) or a model through the loop.

The pipeline only sees these protocols; ``make_policies`` picks implementations for a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.context import Qualifier, Reconstructor, VerifierWriter
from agents.qualify.baseline import BaselineQualifier
from agents.qualify.model import ModelQualifier
from agents.reconstruct.baseline import BaselineReconstructor
from agents.reconstruct.model import ModelReconstructor
from agents.subagent import AgentSettings, ModelFactory
from agents.verifier.baseline import BaselineVerifierWriter
from agents.verifier.model import ModelVerifierWriter
from harness.llm import ModelSpec, RetryPolicy


@dataclass(frozen=True)
class Policies:
    qualifier: Qualifier
    reconstructor: Reconstructor
    verifier_writer: VerifierWriter

    @property
    def builder_name(self) -> str:
        names = {self.qualifier.name, self.reconstructor.name, self.verifier_writer.name}
        return "+".join(sorted(names))


def make_policies(
    model: ModelSpec | None,
    *,
    max_steps: int = 60,
    make_model: ModelFactory | None = None,
    role_budget_usd: float | None = None,
    role_budget_tokens: int | None = None,
    replay: bool = False,
) -> Policies:
    """``baseline`` (model None) for every role, or the given model for every role.

    ``replay``: the model's api_base serves recorded replies, one script per agent
    (``agents.factory.replay``); a call the recording does not have fails at once.
    """
    if model is None:
        return Policies(BaselineQualifier(), BaselineReconstructor(), BaselineVerifierWriter())
    agent = AgentSettings(
        model=model,
        max_steps=max_steps,
        max_cost_usd=role_budget_usd,
        max_tokens=role_budget_tokens,
        route_by_agent=replay,
        retry=RetryPolicy(max_attempts=1) if replay else None,
    )
    return Policies(
        ModelQualifier(agent, make_model),
        ModelReconstructor(agent, make_model),
        ModelVerifierWriter(agent, make_model),
    )
