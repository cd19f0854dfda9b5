"""Controls: builders fed the hidden truth, whose scores are known before they run.

Every control starts from the **reference** environment: the baseline machinery built from
a repository whose fix commit holds exactly the upstream fix's source part and the seed's
upstream tests, so its verifier is the upstream tests. The reference build of a seed is
deterministic; it is made once per seed and kettle revision and copied for each control
(``$KETTLE_HOME/meta_bench/reference-builds/``).

- ``reference``: the upstream tests. It accepts ``correct_accepted`` and catches
  ``wrong_caught`` variants, and loses on the other two classes: the headroom.
- ``ideal``: the same environment with the seed's ideal tests (written from the user's
  words) as the verifier; ``seed check`` proves it judges every variant right.
- calibration builders, each with one known defect, so the leaderboard's ordering can be
  tested against what the defects imply:

  ``cal-overprescriptive``  the reference plus assertions on the strings and names the
                            upstream fix introduced (messages, helper names): rejects valid
                            fixes that word or name things differently.
  ``cal-weak``              a smoke test: any change to the files the fix touches passes.
  ``cal-leaky``             the reference whose instruction quotes the upstream fix.
  ``cal-flaky``             the reference whose verdict is thrown away at random, three times
                            in four (so repeated states disagree, and M7 sees it).
  ``cal-wrong-fix``         on a session seed, takes the history's fix-worded distractor
                            commit as the fix (elsewhere it is the reference).

On a negative seed the controls refuse (they know), except ``cal-wrong-fix``, which takes
the distractor and builds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from agents.factory.policies import make_policies
from agents.verifier.files import (
    FILES_DIR,
    PLAN_FILE,
    PYTEST_INI_FILE,
    REPORTS_DIR,
    TESTS_MOUNT,
)
from agents.verifier.judge import ALL_TESTS, ID_SEPARATOR
from agents.verifier.records import (
    HiddenFile,
    Interpreter,
    ReportFormat,
    RunSpec,
    VerifierPlan,
)
from harness.errors import KettleError
from harness.fsio import file_lock, read_model, write_model, write_text_atomic
from harness.settings import Settings
from meta_bench.builders import (
    BuildJob,
    FactoryBuilder,
    builder_info,
    truth_outcome,
)
from meta_bench.cache import BUILD_CODE, machinery_digest
from meta_bench.materialize import meta_home
from meta_bench.records import BuilderInfo, BuildOutcome, IdealSpec, MaterializedSeed, Seed
from meta_bench.seed_format import load_variants_file
from tools.repos.git import RepoCache
from tools.validation.diffs import added_lines, parse_unified_diff

CALIBRATION: dict[str, str] = {
    "cal-overprescriptive": "the reference plus assertions on the messages and names the "
    "upstream fix introduced",
    "cal-weak": "a smoke test: any change to the files the fix touches passes",
    "cal-leaky": "the reference whose instruction quotes the upstream fix",
    "cal-flaky": "the reference whose verdict is thrown away at random, three times in four",
    "cal-wrong-fix": "takes a fix-worded distractor commit of the session's history as the fix",
}
_IDEAL_LABEL = "ideal"
_RUN_TIMEOUT_SEC = 600.0
_MAX_PINS = 12
_CODE_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"}

Derive = Callable[[BuildJob, Path], str]


def control_builder(name: str) -> ControlBuilder:
    if name == "reference":
        info = builder_info(name, role="reference", kind="reference")
        return ControlBuilder(name, info, None)
    if name == "ideal":
        info = builder_info(name, role="control", kind="ideal")
        return ControlBuilder(name, info, derive_ideal, needs_ideal=True)
    derive = {
        "cal-overprescriptive": derive_overprescriptive,
        "cal-weak": derive_weak,
        "cal-leaky": derive_leaky,
        "cal-flaky": derive_flaky,
        "cal-wrong-fix": None,
    }[name]
    info = builder_info(name, role="calibration", kind="calibration", defect=CALIBRATION[name])
    return ControlBuilder(name, info, derive, wrong_fix=name == "cal-wrong-fix")


class ControlBuilder:
    def __init__(
        self,
        name: str,
        info: BuilderInfo,
        derive: Derive | None,
        *,
        needs_ideal: bool = False,
        wrong_fix: bool = False,
    ) -> None:
        self.name = name
        self.info = info
        self._derive = derive
        self._needs_ideal = needs_ideal
        self._wrong_fix = wrong_fix

    def not_applicable(self, seed: Seed) -> str | None:
        needs = self._needs_ideal and not seed.refuses and seed.folder is not None
        if needs and load_variants_file(seed.folder).ideal is None:  # type: ignore[arg-type]
            return "the seed has no ideal control ([ideal] in hidden/variants.toml)"
        return None

    def build(self, job: BuildJob) -> BuildOutcome:
        started = time.monotonic()
        materialized = job.materialized
        if self._wrong_fix and materialized.distractors:
            baseline = FactoryBuilder(self.name, make_policies(None), self.info)
            outcome = baseline.build(job, pick_fix=lambda found: found.distractors[0])
            outcome.message = (
                f"took the distractor {materialized.distractors[0][:12]} as the fix; "
                + outcome.message
            )
            return outcome
        if job.seed.refuses:
            shutil.rmtree(job.folder, ignore_errors=True)
            job.folder.mkdir(parents=True)
            return BuildOutcome(
                builder=self.name,
                seed_id=job.seed.id,
                status="refused",
                message="refused: the hidden truth says no fix ever landed for this work",
                qualification=truth_outcome(job.seed, materialized),
                cost_usd=0.0,
                wall_sec=round(time.monotonic() - started, 3),
            )
        outcome = reference_build(job, self.name)
        if outcome.task_dir and self._derive is not None:
            outcome.message = self._derive(job, Path(outcome.task_dir))
        elif self._wrong_fix:
            outcome.message = "no distractor in this seed's history: built as the reference"
        outcome.wall_sec = round(time.monotonic() - started, 3)
        return outcome


# --- the reference build, made once per seed and kettle revision -------------------------


def reference_build(job: BuildJob, name: str) -> BuildOutcome:
    """The reference environment in ``job.folder`` (copied from the cache, built if new)."""
    key = f"{job.seed.id}-{job.materialized.digest[:12]}-{machinery_digest(*BUILD_CODE)[:12]}"
    cached = meta_home(job.settings) / "reference-builds" / key
    with file_lock(cached.with_suffix(".lock")):
        record = cached / "build.json"
        if not record.is_file():
            shutil.rmtree(cached, ignore_errors=True)
            builder = FactoryBuilder(
                "reference",
                make_policies(None),
                builder_info("reference", role="reference", kind="reference"),
                hidden_truth=True,
            )
            fresh = BuildJob(
                job.seed,
                job.materialized,
                cached / "build",
                job.engine,
                job.settings,
                job.run_id,
                job.validation_repeats,
            )
            write_model(record, builder.build(fresh))
        outcome = read_model(record, BuildOutcome)
        shutil.rmtree(job.folder, ignore_errors=True)
        shutil.copytree(cached / "build", job.folder, symlinks=True)
    reused = outcome.model_copy(
        update={
            "builder": name,
            "task_dir": str(job.folder / "draft") if outcome.task_dir else None,
            "qualification": truth_outcome(job.seed, job.materialized),
        }
    )
    return reused


# --- what each control changes in the reference environment -----------------------------


def _plan(draft: Path) -> VerifierPlan:
    path = draft / "tests" / PLAN_FILE
    if not path.is_file():
        raise KettleError(f"{path}: the reference verifier has no plan to change")
    return VerifierPlan.model_validate_json(path.read_text(encoding="utf-8"))


def _write_plan(draft: Path, plan: VerifierPlan) -> None:
    write_text_atomic(draft / "tests" / PLAN_FILE, plan.model_dump_json(indent=2) + "\n")


def _judge_python(plan: VerifierPlan) -> Interpreter:
    return plan.interpreters[0]


def derive_ideal(job: BuildJob, draft: Path) -> str:
    """The seed's ideal tests replace the upstream tests as what decides the reward."""
    ideal = job.hidden.ideal
    if ideal is None:
        raise KettleError(f"seed {job.seed.id} has no ideal control")
    tests = draft / "tests"
    plan = _plan(draft)
    shutil.rmtree(tests / FILES_DIR, ignore_errors=True)
    files = []
    for path, text in job.hidden.ideal_files.items():
        write_text_atomic(tests / FILES_DIR / _IDEAL_LABEL / path, text)
        files.append(
            HiddenFile(source=f"files/{_IDEAL_LABEL}/{path}", target=f"{plan.workdir}/{path}")
        )
    has_ini = (tests / PYTEST_INI_FILE).is_file()
    plan.files = files
    plan.runs, plan.expected = ideal_runs(ideal, plan, pytest_ini=has_ini)
    _write_plan(draft, plan)
    _retitle(tests / "test.sh", "the seed's ideal tests (written from the user's words) decide")
    return f"the reference environment with the ideal tests ({ideal.command}) as the verifier"


def ideal_runs(
    ideal: IdealSpec, plan: VerifierPlan, *, pytest_ini: bool
) -> tuple[list[RunSpec], list[str]]:
    """The ideal tests as one run whose report the judge reads, and what it expects: every
    test of the ideal file that ran passed (``file::*``). An exit status alone would let a
    stub ``pytest.py`` in the workdir or a start-up hook pass them. A command that is not
    ``python -m pytest FILE`` or ``node --test FILE`` is judged by its exit status."""
    argv = ideal_argv(ideal.command, plan, pytest_ini=pytest_ini)
    target = argv[-1] if argv[-1] in ideal.files else None
    report = f"{REPORTS_DIR}/{_IDEAL_LABEL}"
    kind: ReportFormat
    if target and argv[1:3] == ["-m", "pytest"]:
        kind, path = "junit", f"{report}.xml"
        argv = [*argv[:-1], "-o", "junit_family=xunit1", f"--junitxml={path}", target]
    elif target and argv[1:2] == ["--test"]:
        kind, path = "tap", f"{report}.tap"
        reporter = ["--test-reporter=tap", f"--test-reporter-destination={path}"]
        argv = [argv[0], "--test", *reporter, *argv[2:]]
    else:
        run = RunSpec(
            label=_IDEAL_LABEL, argv=argv, cwd=plan.workdir, report_format="exit-code",
            timeout_sec=_RUN_TIMEOUT_SEC,
        )  # fmt: skip
        return [run], [_IDEAL_LABEL]
    run = RunSpec(
        label=target, argv=argv, cwd=plan.workdir, report_format=kind, report_path=path,
        file=target, timeout_sec=_RUN_TIMEOUT_SEC,
    )  # fmt: skip
    return [run], [f"{target}{ID_SEPARATOR}{ALL_TESTS}"]


def ideal_argv(command: str, plan: VerifierPlan, *, pytest_ini: bool) -> list[str]:
    """The ideal command with absolute interpreters and the settings fixed at build time."""
    tokens = shlex.split(command)
    if not tokens:
        raise KettleError("the ideal command is empty")
    python = next(
        (i for i in plan.interpreters[1:] if Path(i.path).name.startswith("python")),
        plan.interpreters[0],
    )
    node = next((i for i in plan.interpreters if Path(i.path).name.startswith("node")), None)
    head = Path(tokens[0]).name
    if head.startswith("python"):
        tokens[0] = python.path
        if tokens[1:3] == ["-m", "pytest"] and pytest_ini:
            fixed = ["-c", f"{TESTS_MOUNT}/{PYTEST_INI_FILE}", f"--rootdir={plan.workdir}"]
            tokens[3:3] = [*fixed, f"--confcutdir={plan.workdir}"]
        return tokens
    if head == "node" and node is not None:
        tokens[0] = node.realpath
        return tokens
    return ["/bin/sh", "-c", command]


def derive_overprescriptive(job: BuildJob, draft: Path) -> str:
    """Add a run that asserts the strings and names the upstream fix introduced."""
    pins = fix_pins(job.materialized, job.settings)
    plan = _plan(draft)
    tests = draft / "tests"
    write_text_atomic(tests / "kettle" / "pins.json", json.dumps({"pins": pins}, indent=2))
    write_text_atomic(tests / "kettle" / "pins.py", _PINS_PY)
    judge = _judge_python(plan)
    plan.runs.append(
        RunSpec(
            label="pins",
            argv=[
                judge.realpath,
                "-I",
                "-S",
                f"{TESTS_MOUNT}/kettle/pins.py",
                f"{TESTS_MOUNT}/kettle/pins.json",
                plan.workdir,
            ],
            cwd=plan.workdir,
            report_format="exit-code",
        )
    )
    plan.expected = [*(plan.expected or []), "pins"]
    _write_plan(draft, plan)
    shown = ", ".join(repr(pin["text"]) for pin in pins[:4])
    return f"the reference plus {len(pins)} pinned strings and names of the upstream fix ({shown})"


def fix_pins(materialized: MaterializedSeed, settings: Settings) -> list[dict[str, str]]:
    """Strings and defined names the upstream fix adds to code files (not docs) that the
    start state lacks."""
    pins: list[dict[str, str]] = []
    changes = parse_unified_diff(materialized.source_diff)
    code = [c for c in changes if Path(c.path).suffix in _CODE_SUFFIXES] or changes
    with RepoCache(settings.home / "repos").open(materialized.repo) as repo:
        for change in code:
            before = repo.read_file(materialized.start_commit, change.path) or b""
            start_text = before.decode("utf-8", "replace")
            lines = added_lines(change)
            found = []
            for line in lines:
                found += [m.group(2) for m in _LITERAL.finditer(line)]
                found += [m.group(1) for m in _DEFINED.finditer(line)]
            for text in found:
                if text not in start_text and {"path": change.path, "text": text} not in pins:
                    pins.append({"path": change.path, "text": text})
            if not found and lines:
                longest = max((line.strip() for line in lines), key=len)
                if len(longest) >= 12 and longest not in start_text:
                    pins.append({"path": change.path, "text": longest})
    return pins[:_MAX_PINS]


_LITERAL = re.compile(r"""(["'`])((?:\\.|(?!\1).){4,}?)\1""")
_DEFINED = re.compile(r"\b(?:def|class|function|const|let|var)\s+([A-Za-z_$][\w$]*)")

_PINS_PY = '''"""cal-overprescriptive: every string and name the upstream fix added is there."""
import json
import os
import sys

pins = json.load(open(sys.argv[1], encoding="utf-8"))["pins"]
workdir = sys.argv[2]
missing = []
for pin in pins:
    try:
        text = open(os.path.join(workdir, pin["path"]), encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    if pin["text"] not in text:
        missing.append(pin)
for pin in missing:
    print("not found in %s: %r" % (pin["path"], pin["text"]))
sys.exit(1 if missing or not pins else 0)
'''


def derive_weak(job: BuildJob, draft: Path) -> str:
    """Replace the tests with a smoke test: did any file the fix touches change?"""
    materialized = job.materialized
    hashes: dict[str, str] = {}
    with RepoCache(job.settings.home / "repos").open(materialized.repo) as repo:
        for path in materialized.source_paths:
            content = repo.read_file(materialized.start_commit, path)
            hashes[path] = hashlib.sha256(content).hexdigest() if content is not None else ""
    plan = _plan(draft)
    tests = draft / "tests"
    shutil.rmtree(tests / FILES_DIR, ignore_errors=True)
    write_text_atomic(tests / "kettle" / "smoke.json", json.dumps({"files": hashes}, indent=2))
    write_text_atomic(tests / "kettle" / "smoke.py", _SMOKE_PY)
    judge = _judge_python(plan)
    plan.files = []
    plan.runs = [
        RunSpec(
            label="smoke",
            argv=[
                judge.realpath,
                "-I",
                "-S",
                f"{TESTS_MOUNT}/kettle/smoke.py",
                f"{TESTS_MOUNT}/kettle/smoke.json",
                plan.workdir,
            ],
            cwd=plan.workdir,
            report_format="exit-code",
        )
    ]
    plan.expected = ["smoke"]
    _write_plan(draft, plan)
    _retitle(tests / "test.sh", "a smoke test decides: any change to the fix's files passes")
    return f"a smoke test over {len(hashes)} file(s) the fix touches"


_SMOKE_PY = '''"""cal-weak: passes when any file the upstream fix touches differs from the start."""
import hashlib
import json
import os
import sys

files = json.load(open(sys.argv[1], encoding="utf-8"))["files"]
workdir = sys.argv[2]
changed = []
for path, start in files.items():
    try:
        now = hashlib.sha256(open(os.path.join(workdir, path), "rb").read()).hexdigest()
    except OSError:
        now = ""
    if now != start:
        changed.append(path)
print("changed: %s" % (", ".join(changed) or "nothing"))
sys.exit(0 if changed else 1)
'''


def derive_leaky(job: BuildJob, draft: Path) -> str:
    """The instruction quotes the upstream fix (the leak validation must catch)."""
    path = draft / "instruction.md"
    text = path.read_text(encoding="utf-8").rstrip()
    diff = job.materialized.source_diff.rstrip()
    text += "\n\nA maintainer already sketched the change; this should do it:\n\n"
    text += f"```diff\n{diff}\n```\n"
    write_text_atomic(path, text)
    return "the reference environment whose instruction quotes the upstream fix"


_FLAKY = (
    "# calibration (cal-flaky): three verdicts in four are thrown away at random\n"
    "if [ \"$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')\" -lt 192 ]; then\n"
    "    echo 0 > /logs/verifier/reward.txt\n"
    "fi\n"
)


def derive_flaky(job: BuildJob, draft: Path) -> str:
    path = draft / "tests" / "test.sh"
    script = path.read_text(encoding="utf-8")
    marker = 'echo "reward: '
    if marker not in script:
        raise KettleError(f"{path}: not the reference's test.sh")
    head, _, tail = script.rpartition(marker)
    write_text_atomic(path, head + _FLAKY + marker + tail)
    path.chmod(0o755)
    return "the reference environment whose verdict is zeroed at random three times in four"


def _retitle(test_sh: Path, what: str) -> None:
    script = test_sh.read_text(encoding="utf-8")
    lines = script.splitlines(keepends=True)
    if len(lines) > 1 and lines[1].startswith("# Verifier"):
        lines.insert(2, f"# meta-bench control: {what}.\n")
    write_text_atomic(test_sh, "".join(lines))
    test_sh.chmod(0o755)
