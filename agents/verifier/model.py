"""The model-driven verifier writer: outcome tests written inside the environment itself.

The agent works in a container of the draft image (the start state), with the upstream
fix and its tests for reference. When it says it is done, its tests are copied into the
draft and the whole environment is validated on the host (start state fails, oracle
passes, exploits score 0, no leaks); the validation report is its next observation until
everything passes or the budget ends. An instruction it rewrites must still carry the
user's request (``static:instruction_request``): the instruction as composed from the
user's words is the reference, and it is put back whenever the agent's version is gone.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from agents.context import StageContext
from agents.reconstruct.model import build_draft_image
from agents.reconstruct.records import ReconstructionReport
from agents.subagent import OUTPUT_DIR, AgentSettings, ModelFactory, run_subagent
from agents.verifier.records import VerifierReport
from harness.sandbox.records import Sandbox
from tools.projects.paths import classify_path
from tools.sessions.instruction import compose_instruction
from tools.validation.image_scan import start_counts_in
from tools.validation.validate import HARBOR_PARITY, HiddenFacts, validate_task


class ModelVerifierWriter:
    def __init__(
        self,
        agent: AgentSettings,
        make_model: ModelFactory | None = None,
        *,
        feedback_repeats: int = 2,
    ) -> None:
        self.name = agent.model.requested
        self._agent = agent
        self._make_model = make_model
        self._feedback_repeats = feedback_repeats

    def write_verifier(
        self, context: StageContext, reconstruction: ReconstructionReport
    ) -> VerifierReport:
        qualification = context.qualification
        if qualification is None or not qualification.fix_commit:
            return VerifierReport(builder=self.name, status="failed", message="no fix commit")
        image = reconstruction.image or build_draft_image(context)
        draft = context.workspace.draft
        with context.repos.open(context.candidate.repo or "") as repo:
            fix_patch = repo.commit_patch(qualification.fix_commit)
            start = qualification.start_commit
            counts = start_counts_in(repo, start, fix_patch) if start else {}
            changed = repo.diff_stats(qualification.start_commit or "", qualification.fix_commit)
            upstream_tests = {
                change.path: repo.read_file(qualification.fix_commit, change.path)
                for change in changed.files
                if classify_path(change.path) == "test" and change.status != "deleted"
            }
        hidden = HiddenFacts(
            fix_diff=fix_patch,
            fix_commit=qualification.fix_commit,
            start_commit=qualification.start_commit,
            start_counts=counts,
        )
        accepted: list[int] = []
        # The user's words as the reconstruct stage composed them: the reference any rewrite
        # is held to, and the instruction again whenever the agent's is gone (or on a retry).
        composed = compose_instruction(context.candidate)
        (draft / "instruction.md").write_text(composed)
        changed: list[bool] = [False]

        def setup(sandbox: Sandbox) -> None:
            sandbox.write_file("/kettle/instruction.md", (draft / "instruction.md").read_text())
            sandbox.write_file("/kettle/fix.patch", fix_patch)
            sandbox.copy_in(draft / "solution", "/kettle/solution")
            for path, content in upstream_tests.items():
                if content is not None:
                    sandbox.write_file(f"/kettle/upstream_tests/{path}", content)

        def check(sandbox: Sandbox) -> str | None:
            if not sandbox.exec(["test", "-f", f"{OUTPUT_DIR}/tests/test.sh"]).ok:
                return f"{OUTPUT_DIR}/tests/test.sh is missing: write it, then finish."
            shutil.rmtree(draft / "tests", ignore_errors=True)
            sandbox.copy_out(f"{OUTPUT_DIR}/tests", draft / "tests")
            (draft / "tests" / "test.sh").chmod(0o755)
            (draft / "instruction.md").write_text(composed)
            changed[0] = sandbox.exec(["test", "-f", f"{OUTPUT_DIR}/instruction.md"]).ok
            if changed[0]:
                sandbox.copy_out(f"{OUTPUT_DIR}/instruction.md", draft / "instruction.md")
            with tempfile.TemporaryDirectory(prefix="kettle-feedback-") as scratch:
                report = validate_task(
                    context.engine,
                    context.settings,
                    draft,
                    hidden=hidden.model_copy(
                        update={"user_request": composed if changed[0] else None}
                    ),
                    out_dir=Path(scratch),
                    run_id=context.run_id,
                    repeats=self._feedback_repeats,
                    fail_fast=True,
                    probe_options=HARBOR_PARITY,  # as the validate stage will judge it
                )
            if not report.passed:
                return report.feedback()
            accepted.append(1)
            return None

        result = run_subagent(
            context,
            self._agent,
            role="verifier",
            image=image,
            prompt_name="verifier",
            prompt_variables={"workdir": reconstruction.workdir},
            setup=setup,
            check=check,
            make_model=self._make_model,
            workdir=reconstruction.workdir,
        )
        tests = (
            sorted(
                p.relative_to(draft / "tests").as_posix()
                for p in (draft / "tests").rglob("*")
                if p.is_file()
            )
            if (draft / "tests").is_dir()
            else []
        )
        if not accepted:
            return VerifierReport(
                builder=self.name,
                status="failed",
                message=f"the verifier agent ended before its tests validated ({result.status})",
                test_files=tests,
                instruction_changed=changed[0],
                cost_usd=result.cost_usd,
                steps=result.steps,
            )
        return VerifierReport(
            builder=self.name,
            status="ok",
            message=f"tests validated after {result.steps} steps",
            test_files=tests,
            instruction_changed=changed[0],
            cost_usd=result.cost_usd,
            steps=result.steps,
        )
