"""The verifier writer's records: what the stage reports (``verifier.json``), and the baseline
verifier's plan and runtime facts (shipped in ``tests/kettle/`` and read by the judge),
with what one judge run and a before/after comparison found."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LeftOut(BaseModel):
    """A fail-to-pass test whose failure at the start may not measure the outcome."""

    test: str
    kept: bool = Field(description="True: in the verifier anyway (the user asked for it)")
    reason: str


class VerifierReport(BaseModel):
    schema_version: int = 1
    builder: str
    status: Literal["ok", "failed"]
    message: str = ""
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    decisions: list[LeftOut] = Field(
        default_factory=list,
        description="Tests that failed at the start only because their file did not load",
    )
    test_files: list[str] = Field(default_factory=list, description="Files under tests/")
    instruction_changed: bool = Field(
        False, description="The writer replaced instruction.md (validation re-checks it)"
    )
    cost_usd: float | None = None
    steps: int = 0


RUN_TIMEOUT_SEC = 300.0

ReportFormat = Literal["junit", "tap", "tape", "jest-json", "mocha-json", "uvu", "exit-code"]


class Interpreter(BaseModel):
    path: str
    realpath: str
    sha256: str


class RuntimeFacts(BaseModel):
    """What ``judge.py scan`` found in a fresh container of the image."""

    kind: str
    judge_python: Interpreter
    stdlib: str
    python: Interpreter | None = None
    node: Interpreter | None = None
    site_packages: list[str] = Field(default_factory=list)
    pytest_plugins: list[tuple[str, str]] = Field(default_factory=list)
    node_runners: dict[str, str] = Field(default_factory=dict)
    node_runner_versions: dict[str, str] = Field(default_factory=dict)
    hook_dirs: list[str]
    hooks: dict[str, str]
    runtime: dict[str, str]
    owners: dict[str, str] = Field(
        default_factory=dict, description="Runtime file -> the distribution owning it (name==ver)"
    )
    runner_distributions: list[str] = Field(
        default_factory=list, description="The test runner's distributions: never to change"
    )
    project_manifests: dict[str, str] = Field(
        default_factory=dict, description="The project's dependency manifests -> sha256"
    )

    @property
    def plugin_modules(self) -> list[str]:
        modules = [value.split(":")[0].strip() for _name, value in self.pytest_plugins]
        return sorted(set(modules))


class HiddenFile(BaseModel):
    source: str = Field(description="Relative to tests/kettle/")
    target: str = Field(description="Absolute path in the container")


class RunSpec(BaseModel):
    label: str
    argv: list[str]
    cwd: str
    report_format: ReportFormat
    report_path: str | None = None
    file: str = Field("", description="The repo-relative test file (ids start with it)")
    timeout_sec: float = RUN_TIMEOUT_SEC
    stdout_report: bool = Field(
        False,
        description="The runner writes its report on stdout (ava --tap, tap): the judge "
        "saves stdout as report_path",
    )


class VerifierPlan(BaseModel):
    """What judge.py does, read by it as plain JSON."""

    schema_version: int = 1
    kind: str
    workdir: str
    env: dict[str, str]
    interpreters: list[Interpreter] = Field(description="Links that must still resolve here")
    runtime_manifest: str = "runtime.sha256"
    hooks: dict[str, str] = Field(description="Startup hooks the image had: path -> sha256")
    hook_dirs: list[str]
    site_packages: list[str] = Field(
        default_factory=list, description="Where installed distributions are looked up"
    )
    runner_distributions: list[str] = Field(default_factory=list)
    project_manifests: dict[str, str] = Field(
        default_factory=dict, description="Dependency manifests at build time: path -> sha256"
    )
    files: list[HiddenFile]
    prepare: list[RunSpec] = Field(
        default_factory=list, description="Run first: the build the tests import (tsc, rollup)"
    )
    runs: list[RunSpec]
    expected: list[str] | None = Field(description="Tests that must pass; None: report only")


class JudgeRun(BaseModel):
    """What one run of a baseline test.sh reported (its outcomes.json), plus its output."""

    reward: float
    reason: str
    tests: dict[str, str] = Field(default_factory=dict)
    integrity_problems: list[str] = Field(default_factory=list)
    accepted_changes: list[str] = Field(
        default_factory=list, description="Dependency changes judged legitimate, and why"
    )
    removed_hooks: list[str] = Field(default_factory=list)
    not_passed: dict[str, str] = Field(default_factory=dict)
    runs: list[dict[str, object]] = Field(default_factory=list)
    output: str = ""


class Transitions(BaseModel):
    """How the fix's tests fared before and after the fix."""

    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list, description="Passed in some runs after only")
    fail_to_fail: list[str] = Field(default_factory=list)
    pass_to_fail: list[str] = Field(default_factory=list)

    @property
    def expected(self) -> list[str]:
        return sorted({*self.fail_to_pass, *self.pass_to_pass})
