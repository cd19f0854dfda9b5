"""The reconstructor's records: what a model reconstructor answers (``ReconstructorOutput``,
rendered into prompts/reconstruct.md as its schema) and what the stage reports
(``reconstruction.json``), obstacles included."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.projects.dockerfile import WORKDIR


class Obstacle(BaseModel):
    """Something that stood between the repo and a working environment, and what solved it."""

    summary: str
    resolution: str = ""


class ReconstructionReport(BaseModel):
    schema_version: int = 1
    builder: str = Field(description="baseline, or the model that reconstructed")
    status: Literal["ok", "failed"]
    message: str = Field("", description="One line: what happened, or why it failed")
    language: str | None = None
    workdir: str = "/app"
    dependencies: list[str] = Field(default_factory=list, description="Pinned, as installed")
    obstacles: list[Obstacle] = Field(default_factory=list)
    start_commit: str | None = None
    fix_commit: str | None = None
    test_command: str | None = Field(None, description="How the project's tests run in the image")
    reproduction: str | None = Field(
        None, description="A command that fails at the start state and passes after the fix"
    )
    image: str | None = Field(None, description="Tag of the draft image the stage built")
    cost_usd: float | None = None
    steps: int = 0


class ReconstructorOutput(BaseModel):
    """The structured part of the agent's report (report.json)."""

    language: str = Field(description="Main language of the project, e.g. python, javascript")
    workdir: str = Field(WORKDIR, description="Where the project lives in the image")
    test_command: str = Field(
        description="Shell command, run in workdir, that runs the project's tests there and "
        "prints the test runner's summary (kettle checks that it runs at least one test)"
    )
    reproduction: str = Field(
        description="Shell command, run in workdir, that shows the user's problem: it exits "
        "non-zero at the start state and 0 once solve.sh is applied (e.g. the one test that "
        "fails, or a short script)"
    )
    dependencies: list[str] = Field(
        default_factory=list,
        description="Pinned, name==version, as installed in the image (kettle checks each)",
    )
    obstacles: list[Obstacle] = Field(default_factory=list)
