"""The ``baseline`` verifier writer: the fix's own tests become the verifier, no model.

``BaselineVerifierWriter`` takes the test files the fix commit adds or changes, runs them
at the start state and after ``solve.sh`` with the very verifier it ships (in report-only
mode), and keeps the tests that fail before and pass after (fail-to-pass) and those that
pass both times (pass-to-pass). The verifier passes iff all of them pass. It also writes
``instruction.md`` from the user's prompts, with everything that would give the fix away
removed.
"""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from agents.context import StageContext, build_commits, sandbox_spec
from agents.reconstruct.records import ReconstructionReport
from agents.verifier.files import (
    make_plan,
    node_runs,
    prepare_runs,
    pytest_ini,
    python_runs,
    write_plan,
    write_tests_dir,
)
from agents.verifier.judge import judge
from agents.verifier.outcome_tests import split_fail_to_pass
from agents.verifier.records import JudgeRun, VerifierReport
from agents.verifier.runs import run_judge, scan_image, transitions
from harness.errors import KettleError
from harness.fsio import write_text_atomic
from harness.llm import BASELINE
from tools.projects.detect import detect_project
from tools.projects.dockerfile import VENV, WORKDIR, build_environment
from tools.projects.layout import PYTEST_DEFAULT_FILES, UNITTEST_FILES, fix_project_dir
from tools.projects.python import PYTEST_CONFIG_FILES, pytest_config_file, pytest_options
from tools.projects.test_runs import apply_solution
from tools.repos.patches import fix_diff_text, plan_solution, reader_for, splitter_for
from tools.sessions.instruction import added_lines, compose_instruction, names_defined_in_tests

# Runs after the fix, each in a fresh container: a test must pass in all to count.
_MAX_AFTER_RUNS = 2


# Test fixtures can be large (recorded responses, images); anything bigger is not a test.
_MAX_TEST_FILE_BYTES = 64 * 1024 * 1024


class BaselineVerifierWriter:
    """Turns the fix's own tests into the verifier (see the module doc)."""

    name = BASELINE

    def write_verifier(
        self, context: StageContext, reconstruction: ReconstructionReport
    ) -> VerifierReport:
        try:
            return self._write(context, reconstruction)
        except KettleError as error:
            return VerifierReport(builder=BASELINE, status="failed", message=error.message)

    def _write(self, context: StageContext, reconstruction: ReconstructionReport) -> VerifierReport:
        if reconstruction.status != "ok":
            raise KettleError(
                f"nothing to verify: reconstruction failed ({reconstruction.message})"
            )
        repo_source, start, fix = build_commits(context)
        first = getattr(context.qualification, "fix_first_commit", None)
        draft = context.workspace.draft
        environment, tests_dir = draft / "environment", draft / "tests"
        with context.repos.open(repo_source) as repo:
            patch = plan_solution(repo, start, fix, first=first)
            test_files = {
                path: repo.read_file(patch.fixed_tree, path, max_bytes=_MAX_TEST_FILE_BYTES) or b""
                for path in patch.test_paths
            }
            files = {entry.path for entry in repo.list_files(start)}
            subdir = fix_project_dir(
                [*patch.test_paths, *patch.source_paths], files, reader_for(repo, start)
            )
            configs = {
                name: _text(
                    repo.read_file(patch.fixed_tree, f"{subdir}/{name}" if subdir else name)
                )
                for name in PYTEST_CONFIG_FILES
            }
            splitter = splitter_for(repo, patch.fixed_tree)
            fix_diff = fix_diff_text(repo, patch)
        if not test_files:
            raise KettleError("no tests in the fix; a model-driven verifier is needed")
        root = environment / "app" / subdir if subdir else environment / "app"
        project = detect_project(
            root, test_paths=patch.test_paths, workspace_root=environment / "app"
        )
        project_dir = f"{WORKDIR}/{subdir}" if subdir else WORKDIR
        modules = [
            path.removeprefix(f"{subdir}/") if subdir else path
            for path in splitter.test_modules(patch.test_paths)
        ]
        if not modules:
            raise KettleError(
                f"the fix changes test files but no test module ({', '.join(patch.test_paths[:5])})"
                "; a model-driven verifier is needed"
            )
        image = build_environment(
            context.engine,
            context.settings,
            environment,
            name=context.candidate.id,
            log_path=context.workspace.logs / "build.log",
        )
        facts = scan_image(
            context.engine,
            image,
            kind=project.kind,
            run_id=context.run_id,
            workdir=WORKDIR,
            venv=VENV if project.kind == "python" else None,
        )
        if project.kind == "python":
            runs = python_runs(facts, modules, project_dir)
            options = pytest_options(configs)
            default = [
                any(fnmatch(PurePosixPath(m).name, pattern) for pattern in PYTEST_DEFAULT_FILES)
                for m in modules
            ]
            if "python_files" not in options and not all(default):
                # A unittest suite (*_tests.py): pytest collects it when told its names.
                options["python_files"] = " ".join([*PYTEST_DEFAULT_FILES, *UNITTEST_FILES])
            settings = pytest_ini(options, source=pytest_config_file(configs), workdir=project_dir)
        else:
            assert project.node is not None
            runs = node_runs(facts, project.node, modules, project_dir)
            settings = None
        plan = make_plan(
            facts,
            runs,
            sorted(test_files),
            workdir=WORKDIR,
            expected=None,
            prepare=prepare_runs(project, facts, project_dir),
        )
        written = write_tests_dir(tests_dir, plan, facts, test_files, pytest_settings=settings)
        log = context.workspace.logs / "verifier.log"
        before = self._judge(context, image, tests_dir, solved=False, log=log)
        repeats = max(1, min(context.validation_repeats, _MAX_AFTER_RUNS))
        afters = [
            self._judge(context, image, tests_dir, solved=True, log=log) for _ in range(repeats)
        ]
        found = transitions(before.tests, [after.tests for after in afters])
        if not any(o == "passed" for after in afters for o in after.tests.values()):
            raise KettleError(
                f"none of the fix's tests pass after solve.sh ({afters[0].reason}; "
                f"{_first_runs(afters[0])})"
            )
        if not found.fail_to_pass:
            raise KettleError("the fix's tests do not fail on the start state")
        user_words = "\n".join([context.candidate.first_prompt, *context.candidate.follow_ups])
        kept, decisions = split_fail_to_pass(
            found.fail_to_pass,
            before,
            added_lines=added_lines(fix_diff),
            added_files=patch.source_paths,
            user_words=user_words,
        )
        if not kept:
            raise KettleError(
                "every failing test of the fix fails at the start only because it imports a "
                f"name the fix introduces and the user never asked for ({decisions[0].reason})"
            )
        found = found.model_copy(update={"fail_to_pass": kept})
        plan.expected = found.expected
        write_plan(tests_dir, plan)
        # The shipped verifier judges these same outcomes with the same code: the start
        # state must score 0 and every run after the fix 1. (Validation then checks both
        # again in fresh containers.)
        start_verdict = judge(plan.expected, before.tests, [])
        oracle_verdicts = [judge(plan.expected, after.tests, []) for after in afters]
        if start_verdict["reward"] != 0 or any(v["reward"] != 1 for v in oracle_verdicts):
            raise KettleError(
                f"the verifier does not separate the states: start {start_verdict['reason']}; "
                f"after the fix {oracle_verdicts[0]['reason']}"
            )
        names = names_defined_in_tests(_text(content) or "" for content in test_files.values())
        with context.repos.open(repo_source) as repo:
            # Only hashes that are commits of this repository are the fix's whereabouts.
            instruction = compose_instruction(
                context.candidate,
                workdir=WORKDIR,
                fix_diff=fix_diff,
                test_names=sorted(names | set(found.expected)),
                known_commit=repo.has_commit,
            )
        write_text_atomic(draft / "instruction.md", instruction)
        flaky = f", {len(found.flaky)} flaky left out" if found.flaky else ""
        dropped = sum(not d.kept for d in decisions)
        flaky += f", {dropped} that only failed to import a new name left out" if dropped else ""
        return VerifierReport(
            builder=BASELINE,
            status="ok",
            message=(
                f"{len(found.fail_to_pass)} fail-to-pass and {len(found.pass_to_pass)} "
                f"pass-to-pass tests from {len(modules)} test file(s) of the fix{flaky}"
            ),
            fail_to_pass=found.fail_to_pass,
            pass_to_pass=found.pass_to_pass,
            decisions=decisions,
            test_files=written,
        )

    def _judge(
        self, context: StageContext, image: str, tests_dir: Path, *, solved: bool, log: Path
    ) -> JudgeRun:
        """One run of the verifier in a fresh container, at the start state or after solve.sh."""
        spec = sandbox_spec(context, image, network=False, role="verifier")
        with context.engine.start(spec) as sandbox:
            if solved:
                ok, output = apply_solution(sandbox, context.workspace.draft / "solution")
                if not ok:
                    raise KettleError(f"solve.sh failed: {output.splitlines()[-1:]}")
            verdict = run_judge(sandbox, tests_dir)
        if verdict.integrity_problems:
            raise KettleError(
                f"the verifier finds the fresh image tampered with: {verdict.integrity_problems[0]}"
            )
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            state = "after solve.sh" if solved else "start state"
            handle.write(f"== {state}: reward {verdict.reward} ({verdict.reason})\n")
            handle.write(json.dumps(verdict.tests, indent=2) + "\n" + verdict.output + "\n\n")
        return verdict


def _first_runs(verdict: JudgeRun) -> str:
    described = [
        f"{run.get('label')}: exit {run.get('exit_code')}, {run.get('tests')} tests"
        for run in verdict.runs[:3]
    ]
    return "; ".join(described) or "no runs"


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data.decode("utf-8", errors="replace")
