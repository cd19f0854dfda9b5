"""The model-driven reconstructor: archaeology in a sandbox, checked by building on the host.

The agent works in kettle's base image with the repository at the start commit (the fix
reachable), gets the project building and its tests running, reproduces the problem, and
writes the environment's Dockerfile, solve.sh and a build report. When it says it is done,
the host exports the start tree into the build context, builds the image, checks it for
``.git``, applies solve.sh in a fresh container and runs the agent's test command; any
failure goes back to the agent as its next observation.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from pydantic import ValidationError

from agents.context import StageContext
from agents.reconstruct.records import ReconstructionReport, ReconstructorOutput
from agents.repo_in_sandbox import copy_repo
from agents.subagent import OUTPUT_DIR, AgentSettings, ModelFactory, run_subagent
from harness.errors import BuildError, KettleError, validation_problems
from harness.fsio import write_text_atomic
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.sandbox.records import Sandbox, SandboxSpec
from tools.projects.dockerfile import WORKDIR

_LOG_TAIL_LINES = 40


def draft_image_tag(context: StageContext) -> str:
    return f"kettle-draft/{context.candidate.id.lower()[:100]}:latest"


def export_start_tree(context: StageContext) -> None:
    """The repository at the start commit, without .git, as the build context's app/."""
    qualification = context.qualification
    app = context.workspace.draft / "environment" / "app"
    shutil.rmtree(app, ignore_errors=True)
    with context.repos.open(context.candidate.repo or "") as repo:
        repo.export_tree(qualification.start_commit or "", app)  # type: ignore[union-attr]


def build_draft_image(context: StageContext) -> str:
    """Build draft/environment/ with this machine's base image; return the tag."""
    tag = draft_image_tag(context)
    context.engine.build(
        BuildRequest(
            context_dir=context.workspace.draft / "environment",
            tag=tag,
            build_args={"BASE_IMAGE": context.settings.base_image},
            labels={LABEL: "1", "org.kettle.candidate": context.candidate.id},
            timeout_sec=1800,
            log_path=context.workspace.logs / "environment-build.log",
        )
    )
    return tag


class ModelReconstructor:
    def __init__(self, agent: AgentSettings, make_model: ModelFactory | None = None) -> None:
        self.name = agent.model.requested
        self._agent = agent
        self._make_model = make_model

    def reconstruct(self, context: StageContext) -> ReconstructionReport:
        qualification = context.qualification
        if qualification is None or not qualification.fix_commit:
            return ReconstructionReport(
                builder=self.name, status="failed", message="no fix commit to reconstruct against"
            )
        export_start_tree(context)
        accepted: list[ReconstructorOutput] = []

        def setup(sandbox: Sandbox) -> None:
            with context.repos.open(context.candidate.repo or "") as repo:
                copy_repo(sandbox, repo, qualification.start_commit or "")

        def check(sandbox: Sandbox) -> str | None:
            try:
                output = self._collect(sandbox, context)
                self._try_environment(context, output)
            except _Rejected as rejection:
                return str(rejection)
            accepted.append(output)
            return None

        result = run_subagent(
            context,
            self._agent,
            role="reconstruct",
            image=context.settings.base_image,
            prompt_name="reconstruct",
            prompt_variables={
                "task_spirit": qualification.task_spirit,
                "start_commit": qualification.start_commit,
                "fix_commit": qualification.fix_commit,
                "base_image": context.settings.base_image,
                "workdir": WORKDIR,
                "output_schema": json.dumps(ReconstructorOutput.model_json_schema(), indent=2),
            },
            setup=setup,
            check=check,
            make_model=self._make_model,
            workdir="/repo",
        )
        if not accepted:
            return ReconstructionReport(
                builder=self.name,
                status="failed",
                message=f"the reconstruction agent ended without a working environment "
                f"({result.status}{': ' + result.reason if result.reason else ''})",
                cost_usd=result.cost_usd,
                steps=result.steps,
            )
        output = accepted[-1]
        return ReconstructionReport(
            builder=self.name,
            status="ok",
            message=f"environment built in {result.steps} steps",
            language=output.language,
            workdir=output.workdir,
            dependencies=output.dependencies,
            obstacles=output.obstacles,
            start_commit=qualification.start_commit,
            fix_commit=qualification.fix_commit,
            test_command=output.test_command,
            image=draft_image_tag(context),
            cost_usd=result.cost_usd,
            steps=result.steps,
        )

    def _collect(self, sandbox: Sandbox, context: StageContext) -> ReconstructorOutput:
        """Copy the agent's files into the draft; a missing or invalid file is a rejection."""
        draft = context.workspace.draft
        for required in ("environment/Dockerfile", "solution/solve.sh", "report.json"):
            if not sandbox.exec(["test", "-f", f"{OUTPUT_DIR}/{required}"]).ok:
                raise _Rejected(f"{OUTPUT_DIR}/{required} is missing: write it, then finish.")
        try:
            output = ReconstructorOutput.model_validate_json(
                sandbox.read_file(f"{OUTPUT_DIR}/report.json")
            )
        except ValidationError as error:
            problems = "; ".join(validation_problems(error, root="file"))
            raise _Rejected(f"{OUTPUT_DIR}/report.json is not valid: {problems}") from error
        # The agent's environment files, except app/, which kettle exports from git itself.
        sandbox.exec(f"rm -rf {OUTPUT_DIR}/environment/app", user="0")
        sandbox.copy_out(f"{OUTPUT_DIR}/environment", draft / "environment")
        shutil.rmtree(draft / "solution", ignore_errors=True)
        sandbox.copy_out(f"{OUTPUT_DIR}/solution", draft / "solution")
        (draft / "solution" / "solve.sh").chmod(0o755)
        report = sandbox.exec(f"cat {OUTPUT_DIR}/build_report.md 2>/dev/null").stdout
        write_text_atomic(context.workspace.build_report_path, report or "(no build report)\n")
        return output

    def _try_environment(self, context: StageContext, output: ReconstructorOutput) -> None:
        """Build the image, then check it the way validation will."""
        try:
            tag = build_draft_image(context)
        except BuildError as error:
            tail = _tail(context.workspace.logs / "environment-build.log")
            raise _Rejected(f"the Dockerfile does not build: {error.message}\n{tail}") from error
        spec = SandboxSpec(
            image=tag, run_id=context.run_id, role="reconstruct-check", network="none"
        )
        with context.engine.start(spec) as box:
            found = box.exec("find / -xdev -name .git 2>/dev/null | head -5", timeout_sec=300)
            if found.stdout.strip():
                raise _Rejected(f"the image contains .git: {found.stdout.split()}; remove it.")
            tests = box.exec(
                ["bash", "-lc", f"cd {shlex.quote(output.workdir)} && {output.test_command}"],
                timeout_sec=900,
            )
            if tests.exit_code == 127 or tests.timed_out:
                raise _Rejected(
                    f"the test command `{output.test_command}` cannot run in the image "
                    f"(exit {tests.exit_code}):\n{_clip(tests.stdout + tests.stderr)}"
                )
            box.copy_in(context.workspace.draft / "solution", "/solution")
            solved = box.exec(["bash", "/solution/solve.sh"], timeout_sec=600)
            if not solved.ok:
                raise _Rejected(
                    f"solve.sh failed in a fresh container (exit {solved.exit_code}):\n"
                    f"{_clip(solved.stdout + solved.stderr)}"
                )


class _Rejected(KettleError):
    """The agent's work did not hold up on the host; the message goes back to the agent."""


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _clip(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]
