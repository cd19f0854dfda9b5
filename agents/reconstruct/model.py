"""The model-driven reconstructor: archaeology in a sandbox, checked by building on the host.

The agent works in kettle's base image with the repository at the start commit (the fix
reachable), gets the project building and its tests running, reproduces the problem, and
writes the environment's Dockerfile, solve.sh and a build report. When it says it is done,
the host exports the start tree into the build context, builds the image and re-checks
every claim of the agent's report in fresh containers (``agents.reconstruct.recheck``):
no ``.git``, the test command runs tests, the dependencies are installed, the reproduction
fails at the start and passes after solve.sh, and solve.sh changes the project. Any
failure goes back to the agent as its next observation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import ValidationError

from agents.context import StageContext, agent_image
from agents.reconstruct.recheck import ReconstructionClaims, Rejected
from agents.reconstruct.records import ReconstructionReport, ReconstructorOutput
from agents.repo_in_sandbox import copy_repo
from agents.subagent import OUTPUT_DIR, AgentSettings, ModelFactory, run_subagent
from harness.errors import BuildError, validation_problems
from harness.fsio import write_text_atomic
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.sandbox.records import Sandbox
from tools.projects.dockerfile import AGENT_USER, WORKDIR, with_agent_user
from tools.projects.symlinks import export_start_state, recorded_symlinks, with_symlinks

_LOG_TAIL_LINES = 40


def draft_image_tag(context: StageContext) -> str:
    return f"kettle-draft/{context.candidate.id.lower()[:100]}:latest"


def export_start_tree(context: StageContext) -> None:
    """The repository at the start commit, without .git, as the build context's app/."""
    qualification = context.qualification
    app = context.workspace.draft / "environment" / "app"
    shutil.rmtree(app, ignore_errors=True)
    with context.repos.open(context.candidate.repo or "") as repo:
        # Files a partial clone cannot read are left out (the agent's clone lacks them too).
        export_start_state(repo, qualification.start_commit or "", app)  # type: ignore[union-attr]


def build_draft_image(context: StageContext) -> str:
    """Build draft/environment/ with this machine's base image; return the tag."""
    tag = draft_image_tag(context)
    context.engine.build(
        BuildRequest(
            context_dir=context.workspace.draft / "environment",
            tag=tag,
            build_args={"BASE_IMAGE": agent_image(context)},
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
            except Rejected as rejection:
                return str(rejection)
            accepted.append(output)
            return None

        result = run_subagent(
            context,
            self._agent,
            role="reconstruct",
            image=agent_image(context),
            prompt_name="reconstruct",
            prompt_variables={
                "task_spirit": qualification.task_spirit,
                "start_commit": qualification.start_commit,
                "fix_commit": qualification.fix_commit,
                "base_image": context.settings.base_image_for(context.settings.default_suite),
                "workdir": WORKDIR,
                "agent_user": AGENT_USER,
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
            reproduction=output.reproduction,
            image=draft_image_tag(context),
            cost_usd=result.cost_usd,
            steps=result.steps,
        )

    def _collect(self, sandbox: Sandbox, context: StageContext) -> ReconstructorOutput:
        """Copy the agent's files into the draft; a missing or invalid file is a rejection."""
        draft = context.workspace.draft
        for required in ("environment/Dockerfile", "solution/solve.sh", "report.json"):
            if not sandbox.exec(["test", "-f", f"{OUTPUT_DIR}/{required}"]).ok:
                raise Rejected(f"{OUTPUT_DIR}/{required} is missing: write it, then finish.")
        try:
            output = ReconstructorOutput.model_validate_json(
                sandbox.read_file(f"{OUTPUT_DIR}/report.json")
            )
        except ValidationError as error:
            problems = "; ".join(validation_problems(error, root="file"))
            raise Rejected(f"{OUTPUT_DIR}/report.json is not valid: {problems}") from error
        # The agent's environment files, except app/, which kettle exports from git itself.
        sandbox.exec(f"rm -rf {OUTPUT_DIR}/environment/app", user="0")
        sandbox.copy_out(f"{OUTPUT_DIR}/environment", draft / "environment")
        # The agent's unprivileged user ([agent] user), as every kettle task has it.
        dockerfile = draft / "environment" / "Dockerfile"
        links = recorded_symlinks(dockerfile.parent)
        dockerfile.write_text(
            with_agent_user(
                with_symlinks(dockerfile.read_text(), links, output.workdir), output.workdir
            )
        )
        shutil.rmtree(draft / "solution", ignore_errors=True)
        sandbox.copy_out(f"{OUTPUT_DIR}/solution", draft / "solution")
        (draft / "solution" / "solve.sh").chmod(0o755)
        report = sandbox.exec(f"cat {OUTPUT_DIR}/build_report.md 2>/dev/null").stdout
        write_text_atomic(context.workspace.build_report_path, report or "(no build report)\n")
        return output

    def _try_environment(self, context: StageContext, output: ReconstructorOutput) -> None:
        """Build the image, then re-check every claim of the report against it."""
        try:
            tag = build_draft_image(context)
        except BuildError as error:
            tail = _tail(context.workspace.logs / "environment-build.log")
            raise Rejected(f"the Dockerfile does not build: {error.message}\n{tail}") from error
        ReconstructionClaims(
            context=context,
            image=tag,
            output=output,
            solution_dir=context.workspace.draft / "solution",
            start_tree=context.workspace.draft / "environment" / "app",
        ).check()


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-_LOG_TAIL_LINES:])
