"""Host re-checks of what a model reconstructor claims, each in a fresh container.

A reconstructor's report (``ReconstructorOutput``) makes claims; none is taken on trust.
Once its Dockerfile builds, kettle checks in fresh containers of the image:

- the image holds no ``.git``;
- the test command runs at the start state and its runner reports at least one test
  (a wrong working directory, a path that collects nothing or tests that do not load are
  caught here: an exit status alone proves nothing);
- every declared dependency is installed, at its declared version;
- the declared language is the project's;
- the reproduction fails at the start state, and passes after ``solve.sh`` ran in a fresh
  container; ``solve.sh`` changes the project (a script that exits 0 and changes nothing
  is not a fix), and the test command still runs afterwards.

The first claim that fails is raised as ``Rejected`` with a message the agent can act on;
it becomes the agent's next observation.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from agents.context import StageContext
from agents.reconstruct.records import ReconstructorOutput
from harness.errors import KettleError
from harness.sandbox.records import ExecResult, Sandbox, SandboxSpec
from tools.projects.detect import UnsupportedProjectError, detect_project
from tools.projects.dockerfile import AGENT_USER
from tools.projects.test_runs import collection_failed, tests_run

_TEST_TIMEOUT_SEC = 900
_OUTPUT_CHARS = 3000
# Languages a reconstructor may name for each project kind kettle can detect.
_LANGUAGES = {
    "python": {"python", "python3", "py"},
    "node": {"javascript", "typescript", "node", "nodejs", "node.js", "js", "ts"},
}
_PYTHON_VERSIONS = """
import json, sys, importlib.metadata as m
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        found[name] = None
print(json.dumps(found))
"""
_NODE_VERSIONS = """
const fs = require('fs'), path = require('path');
const found = {};
for (const name of process.argv.slice(1)) {
  found[name] = null;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(manifest)) {
      found[name] = JSON.parse(fs.readFileSync(manifest)).version;
      break;
    }
    if (dir === path.dirname(dir)) break;
  }
}
console.log(JSON.stringify(found));
"""


class Rejected(KettleError):
    """The agent's work did not hold up on the host; the message goes back to the agent."""


@dataclass
class ReconstructionClaims:
    """The claims of one report, checked against the image built from its Dockerfile."""

    context: StageContext
    image: str
    output: ReconstructorOutput
    solution_dir: Path
    start_tree: Path

    def check(self) -> None:
        """Every claim, cheapest first; the first that fails is raised as ``Rejected``."""
        with self._fresh("reconstruct-check") as box:
            self._no_git(box)
            self._test_command_runs(box, "at the start state")
            self._dependencies_installed(box)
        self._language_is_the_projects()
        with self._fresh("reconstruct-start") as box:
            self._reproduction_fails_at_the_start(box)
        with self._fresh("reconstruct-fixed") as box:
            self._solve_changes_the_project(box)
            self._reproduction_passes_after_the_fix(box)
            self._test_command_runs(box, "after solve.sh")

    def _fresh(self, role: str) -> Sandbox:
        spec = SandboxSpec(image=self.image, run_id=self.context.run_id, role=role, network="none")
        return self.context.engine.start(spec)

    def _run(self, box: Sandbox, command: str, *, user: str = "0") -> ExecResult:
        # Not a login shell: Debian's /etc/profile would drop the image's PATH (its venv).
        script = f"cd {shlex.quote(self.output.workdir)} && {command}"
        return box.exec(["bash", "-c", script], timeout_sec=_TEST_TIMEOUT_SEC, user=user)

    def _no_git(self, box: Sandbox) -> None:
        found = box.exec("find / -xdev -name .git 2>/dev/null | head -5", timeout_sec=300)
        if found.stdout.strip():
            raise Rejected(f"the image contains .git: {found.stdout.split()}; remove it.")

    def _test_command_runs(self, box: Sandbox, when: str) -> None:
        output = self.output
        if not box.exec(["test", "-d", output.workdir]).ok:
            raise Rejected(
                f"report.json's workdir {output.workdir} does not exist in the image: use the "
                "folder the project is in (the Dockerfile's COPY target)."
            )
        result = self._run(box, output.test_command)
        text = result.stdout + result.stderr
        said = f"the test command `{output.test_command}` {when}"
        if result.timed_out:
            raise Rejected(f"{said} did not finish in {_TEST_TIMEOUT_SEC}s:\n{_clip(text)}")
        if result.exit_code in (126, 127):
            raise Rejected(f"{said} cannot run (exit {result.exit_code}):\n{_clip(text)}")
        if collection_failed(text):
            raise Rejected(
                f"{said} could not load some test files (collection errors): the environment "
                f"is missing something the tests import.\n{_clip(text)}"
            )
        ran = tests_run(text)
        if ran == 0:
            raise Rejected(
                f"{said} ran no test (exit {result.exit_code}): it must run the project's "
                f"tests (check its path, working directory and selection).\n{_clip(text)}"
            )
        if ran is None:
            raise Rejected(
                f"{said} printed no test runner summary kettle can read (exit "
                f"{result.exit_code}), so nothing shows that any test ran. Use the project's "
                "test runner with its normal summary (e.g. `python -m pytest -q`, "
                f"`node --test`, `npx jest`).\n{_clip(text)}"
            )

    def _dependencies_installed(self, box: Sandbox) -> None:
        wanted: dict[str, str] = {}
        for index, dependency in enumerate(self.output.dependencies):
            name, version = _pin(dependency)
            if not name or not version:
                raise Rejected(
                    f"report.json dependencies[{index}] {dependency!r} is not pinned: write "
                    "each as name==version, exactly as installed in the image."
                )
            wanted[name] = version
        if not wanted:
            return
        kind = _kind(self.output.language)
        if kind is None:
            return  # no way to ask this language's package manager: nothing to compare
        names = " ".join(shlex.quote(name) for name in wanted)
        if kind == "python":
            command = (
                f'"$(command -v python || command -v python3)" - {names} '
                f"<<'KETTLE_EOF'\n{_PYTHON_VERSIONS}KETTLE_EOF"
            )
        else:
            command = f"node -e {shlex.quote(_NODE_VERSIONS)} {names}"
        result = self._run(box, command)
        try:
            found: dict[str, str | None] = json.loads(result.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError) as error:
            raise Rejected(
                f"could not list the image's {kind} packages to check report.json's "
                f"dependencies (exit {result.exit_code}):\n{_clip(result.stdout + result.stderr)}"
            ) from error
        wrong = [
            f"{name}=={version} ({_found(found.get(name))})"
            for name, version in wanted.items()
            if found.get(name) != version
        ]
        if wrong:
            raise Rejected(
                "report.json declares dependencies the image does not have: "
                + "; ".join(wrong)
                + ". Install them in the Dockerfile, or declare what is installed."
            )

    def _language_is_the_projects(self) -> None:
        try:
            project = detect_project(self.start_tree)
        except (UnsupportedProjectError, OSError):
            return  # a kind kettle does not detect: the agent's word stands
        declared = self.output.language.strip().lower()
        if declared not in _LANGUAGES.get(project.kind, {project.kind}):
            raise Rejected(
                f"report.json says the language is {self.output.language!r}, but the "
                f"repository at the start commit is a {project.kind} project: name its "
                "main language."
            )

    def _reproduction_fails_at_the_start(self, box: Sandbox) -> None:
        reproduction = self.output.reproduction
        result = self._run(box, reproduction)
        text = _clip(result.stdout + result.stderr)
        if result.timed_out:
            raise Rejected(f"the reproduction `{reproduction}` did not finish:\n{text}")
        if result.exit_code in (126, 127):
            raise Rejected(
                f"the reproduction `{reproduction}` cannot run at the start state (exit "
                f"{result.exit_code}); it must fail because of the problem, not because a "
                f"command is missing:\n{text}"
            )
        if result.ok:
            raise Rejected(
                f"the reproduction `{reproduction}` passes (exit 0) at the start state, in a "
                "fresh container of the image: it must fail there, showing the problem the "
                f"user had.\n{text}"
            )

    def _solve_changes_the_project(self, box: Sandbox) -> None:
        before = self._fingerprint(box)
        box.copy_in(self.solution_dir, "/solution")
        user = AGENT_USER if box.exec(["id", "-u", AGENT_USER]).ok else "0"
        solved = box.exec(
            ["bash", "/solution/solve.sh"],
            timeout_sec=600,
            user=user,
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
        text = _clip(solved.stdout + solved.stderr)
        if not solved.ok:
            raise Rejected(
                f"solve.sh failed in a fresh container, run as {user!r} as the oracle will be "
                f"(exit {solved.exit_code}):\n{text}"
            )
        if self._fingerprint(box) == before:
            raise Rejected(
                f"solve.sh exits 0 but changes no file under {self.output.workdir}: it must "
                "apply the fix's source changes."
            )

    def _reproduction_passes_after_the_fix(self, box: Sandbox) -> None:
        reproduction = self.output.reproduction
        result = self._run(box, reproduction)
        if not result.ok:
            raise Rejected(
                f"after solve.sh, the reproduction `{reproduction}` still fails (exit "
                f"{result.exit_code}) in a fresh container: solve.sh does not fix the problem "
                f"(or the reproduction does not test it).\n{_clip(result.stdout + result.stderr)}"
            )

    def _fingerprint(self, box: Sandbox) -> str:
        script = (
            "find . -path ./node_modules -prune -o -type f -print0 | sort -z "
            "| xargs -0 -r sha256sum | sha256sum"
        )
        return self._run(box, script).stdout.strip()


def _pin(dependency: str) -> tuple[str, str]:
    """``name==version`` (or npm's ``name@version``) as (name, version); blanks if neither."""
    text = dependency.strip()
    if "==" in text:
        name, _, version = text.partition("==")
        return name.strip().split("[")[0], version.strip()
    at = text.rfind("@")
    if at > 0:
        return text[:at].strip(), text[at + 1 :].strip()
    return "", ""


def _found(version: str | None) -> str:
    return "not installed" if version is None else f"found {version}"


def _kind(language: str) -> str | None:
    declared = language.strip().lower()
    return next((kind for kind, names in _LANGUAGES.items() if declared in names), None)


def _clip(text: str, limit: int = _OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]
