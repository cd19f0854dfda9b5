"""The judge a baseline verifier runs inside the task's container (standard library only).

This file is copied verbatim into every baseline task as ``tests/kettle/judge.py`` and run
by ``tests/test.sh`` with the image's own Python in isolated mode (``-I -S``: no
environment variables, no site-packages, no ``.pth`` or ``sitecustomize`` hooks), so
nothing the solving agent left behind can run inside it. Two commands:

``scan KIND WORKDIR [VENV]``  (at build time, in a fresh container of the image) prints,
    as JSON, what the verifier needs to trust later: the interpreters' real paths and
    hashes, a sha256 manifest of the runtime the tests run on (stdlib, virtualenv, test
    runner packages), the startup hooks present in the image, and the pytest plugins the
    project installed.

``run PLAN``  (at verification time) checks that each interpreter path still leads to the
    recorded binary and that the runtime matches the manifest (telling tampering from a
    legitimate dependency change, below), removes startup hooks and
    ``conftest.py`` files the image did not have, copies the hidden test files into the
    project (overwriting whatever is there), runs each test file with an
    absolute interpreter and a clean environment, parses the runner's own report (pytest
    JUnit XML, node's TAP, jest/vitest/mocha JSON) into per-test outcomes and writes
    ``reward.txt``: 1 only if every expected test passed and the runtime was intact.
    ``outcomes.json`` beside it records every test's outcome and why the reward is what
    it is. Without an expected list (``"expected": null``) it only reports outcomes: that
    is how the builder learns which tests fail before the fix and pass after it.

Outcomes are ``passed``, ``failed`` (failures and errors, including a file that does not
import) and ``skipped``. A test that is expected but absent from the report failed.

Tampering or a legitimate change? A solution may upgrade a dependency through the
project's own manifest (``pyproject.toml``, ``requirements*.txt``, ...): the installed
files of that package then differ from the manifest recorded at build time. Such a change
is accepted, and said so in ``outcomes.json`` and on stdout, only when all of these hold:
the package's files at build time are known (``runtime.owners.json``); it is not part of
the interpreter, the standard library or the test runner (pytest, its plugins and their
own dependencies stay exactly as built); its installed version differs from the built one;
every file its new ``RECORD`` lists has the hash recorded there; and a dependency manifest
of the project that changed since the build names it. Anything else (a patched module, a
planted hook, a redirected interpreter, an edit in place) is tampering, with the reason.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_RANK = {PASSED: 0, SKIPPED: 1, FAILED: 2}
HOOK_NAMES = ("sitecustomize.py", "usercustomize.py")
# Folders never worth hashing or searching: caches and VCS data.
_SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn"}
_STDLIB_SKIPPED = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip"}
_STDLIB_SKIPPED |= {"site-packages", "dist-packages", "pydoc_data"}
_TAP_RESULT = re.compile(r"^(\s*)(not ok|ok)\b\s*\d*\s*(?:-\s)?(.*)$")
_TAP_SUBTEST = re.compile(r"^(\s*)# Subtest: (.*)$")
_ANSI_CODE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TAP_DIRECTIVE = re.compile(r"(?<!\\)\s#\s*(SKIP|TODO)\b.*$", re.IGNORECASE)
# tape's closing counts ("# tests 3", "# pass 2", "# ok"): comments that name no test.
_TAPE_TOTALS = re.compile(r"^#\s+(?:(?:tests|pass|fail|skip|todo)\s+\d+|ok)\s*$")
_TAP_PLAN = re.compile(r"^1\.\.\d+")
ID_SEPARATOR = "::"
# An expected id "file::*": every test of that file that ran passed, and one at least did.
ALL_TESTS = "*"
TITLE_SEPARATOR = " > "
OWNERS_FILE = "runtime.owners.json"
# The test runner itself: changed in any way, the verdict could not be trusted.
RUNNER_DISTRIBUTIONS = ("pytest", "pluggy", "iniconfig")
# The files through which a project declares its dependencies (at its top folder).
MANIFEST_NAMES = (
    "pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "Pipfile.lock", "poetry.lock",
    "uv.lock", "pdm.lock", "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml",
)  # fmt: skip
_REQUIREMENTS_FILE = re.compile(r"^(.*[-_])?requirements([-_.].*)?\.(txt|in)$", re.IGNORECASE)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def worst(first: str | None, second: str) -> str:
    """A test reported twice (a teardown error after a pass) keeps its worse outcome."""
    if first is None:
        return second
    return first if _RANK[first] >= _RANK[second] else second


def _record(outcomes: dict[str, str], test_id: str, outcome: str) -> None:
    outcomes[test_id] = worst(outcomes.get(test_id), outcome)


# --- report parsers ---------------------------------------------------------------------


def parse_junit(text: str) -> dict[str, str]:
    """pytest's JUnit XML (``junit_family=xunit1``) as ``{"path.py::Class::test": outcome}``.

    xunit1 names each case's file; the id is the file, the classes left after removing the
    module's dotted path from ``classname``, and the test's name (parameters included),
    which is pytest's own node id. A collection error (empty classname) is a case named
    after the module: it does not match any test's id, so that file's tests count as absent.
    """
    outcomes: dict[str, str] = {}
    root = ElementTree.fromstring(text)
    for case in root.iter("testcase"):
        name = case.get("name", "")
        classname = case.get("classname", "")
        file = case.get("file", "")
        if not classname:
            test_id = f"{file}{ID_SEPARATOR}<collection>{ID_SEPARATOR}{name}"
        else:
            module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
            if module and classname == module:
                classes = ""
            elif module and classname.startswith(module + "."):
                classes = classname[len(module) + 1 :]
            else:
                classes = classname
            parts = [file or classname, *(classes.split(".") if classes else []), name]
            test_id = ID_SEPARATOR.join(parts)
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            outcome = FAILED
        elif "skipped" in kinds:
            outcome = SKIPPED
        else:
            outcome = PASSED
        _record(outcomes, test_id, outcome)
    return outcomes


def _tap_unescape(name: str) -> str:
    return name.replace("\\#", "#").replace("\\\\", "\\").strip()


def parse_tap(text: str, file: str) -> dict[str, str]:
    """node --test's TAP as ``{"file::outer > inner": outcome}`` (nested subtests too).

    Subtests are indented four spaces per level and announced by ``# Subtest:`` lines;
    a suite or a test with subtests is a test of its own. A top-level entry named after
    the file itself (older runners wrap each file) is dropped from the chain of names.
    """
    outcomes: dict[str, str] = {}
    parents: dict[int, str] = {}

    def is_file_wrapper(depth: int, name: str) -> bool:
        return depth == 0 and bool(file) and (name == file or name.endswith("/" + file))

    for line in text.splitlines():
        subtest = _TAP_SUBTEST.match(line)
        if subtest:
            depth = len(subtest.group(1).expandtabs()) // 4
            parents[depth] = _tap_unescape(subtest.group(2))
            for deeper in [d for d in parents if d > depth]:
                del parents[deeper]
            continue
        result = _TAP_RESULT.match(line)
        if not result:
            continue
        depth = len(result.group(1).expandtabs()) // 4
        rest = result.group(3)
        directive = _TAP_DIRECTIVE.search(rest)
        name = _tap_unescape(rest[: directive.start()] if directive else rest)
        if is_file_wrapper(depth, name):
            continue
        chain = [
            parents[level]
            for level in range(depth)
            if level in parents and not is_file_wrapper(level, parents[level])
        ]
        test_id = file + ID_SEPARATOR + TITLE_SEPARATOR.join([*chain, name])
        outcome = PASSED if result.group(2) == "ok" else FAILED
        if directive:
            outcome = SKIPPED
        _record(outcomes, test_id, outcome)
    return outcomes


def parse_tape(text: str, file: str) -> dict[str, str]:
    """tape's TAP as ``{"file::test name": outcome}``.

    tape numbers assertions, not tests: each test is announced by a ``# name`` comment
    and its assertions follow, so a test fails when any assertion under its name fails.
    A test that made no assertion is absent (a crash before its first one looks the same).
    """
    outcomes: dict[str, str] = {}
    name: str | None = None
    for line in text.splitlines():
        if _TAP_PLAN.match(line):
            name = None  # what follows the plan is the totals
            continue
        if line.startswith("# ") and not _TAPE_TOTALS.match(line):
            name = line[2:].strip()
            continue
        result = _TAP_RESULT.match(line)
        if name is None or not result or result.group(1):
            continue  # indented lines belong to an assertion's YAML diagnostics
        outcome = PASSED if result.group(2) == "ok" else FAILED
        if _TAP_DIRECTIVE.search(result.group(3)):
            outcome = SKIPPED
        _record(outcomes, file + ID_SEPARATOR + name, outcome)
    return outcomes


# uvu prints one line per suite: its name, a mark per test (• passed, ✘ failed, ⊘ skipped)
# and "(passed / total)".
_UVU_SUITE = re.compile(
    r"^\s*(?P<name>\S.*?)\s+(?P<marks>[•✘⊘](?:\s+[•✘⊘])*)\s+\((?P<ok>\d+) / (?P<all>\d+)\)\s*$"
)


def parse_uvu(text: str, file: str) -> dict[str, str]:
    """uvu's text report (it has no other) as ``{"file::suite": outcome}``, one per suite."""
    outcomes: dict[str, str] = {}
    for line in _ANSI_CODE.sub("", text).splitlines():
        match = _UVU_SUITE.match(line)
        if not match:
            continue
        passed = match.group("ok") == match.group("all") and "✘" not in match.group("marks")
        _record(outcomes, file + ID_SEPARATOR + match.group("name"), PASSED if passed else FAILED)
    return outcomes


def parse_jest_json(text: str, workdir: str) -> dict[str, str]:
    """jest's (and vitest's) ``--json`` report; ids are ``file::describe > test``.

    A file that failed to run at all has no assertion results: nothing is recorded for
    it, so its expected tests are absent, i.e. failed.
    """
    outcomes: dict[str, str] = {}
    data = json.loads(text)
    statuses = {"passed": PASSED, "failed": FAILED, "pending": SKIPPED, "skipped": SKIPPED}
    statuses |= {"todo": SKIPPED, "disabled": SKIPPED}
    for suite in data.get("testResults", []):
        file = _relative(str(suite.get("name", "")), workdir)
        for assertion in suite.get("assertionResults", []):
            titles = [*assertion.get("ancestorTitles", []), assertion.get("title", "")]
            test_id = file + ID_SEPARATOR + TITLE_SEPARATOR.join(str(t) for t in titles)
            _record(outcomes, test_id, statuses.get(str(assertion.get("status")), FAILED))
    return outcomes


def parse_mocha_json(text: str, workdir: str, file: str) -> dict[str, str]:
    """mocha's ``json`` reporter; ids are ``file::full title``."""
    outcomes: dict[str, str] = {}
    try:
        data = json.loads(text)
    except ValueError:
        # The report printed after the tests' own output: mocha indents it by two.
        start = text.rfind('{\n  "stats"')
        if start < 0:
            raise
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    for key, outcome in (("passes", PASSED), ("pending", SKIPPED), ("failures", FAILED)):
        for test in data.get(key, []):
            where = _relative(str(test.get("file") or file), workdir)
            test_id = where + ID_SEPARATOR + str(test.get("fullTitle", test.get("title", "")))
            _record(outcomes, test_id, outcome)
    return outcomes


def _relative(path: str, workdir: str) -> str:
    prefix = workdir.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def parse_report(run: dict, text: str | None, exit_code: int | None) -> dict[str, str]:
    """Per-test outcomes of one run; a missing or unreadable report gives none."""
    kind = run["report_format"]
    if kind == "exit-code":
        return {run["label"]: PASSED if exit_code == 0 else FAILED}
    if text is None:
        return {}
    try:
        if kind == "junit":
            return parse_junit(text)
        if kind == "tap":
            return parse_tap(text, run["file"])
        if kind == "jest-json":
            return parse_jest_json(text, run["cwd"])
        if kind == "mocha-json":
            return parse_mocha_json(text, run["cwd"], run["file"])
        if kind == "uvu":
            return parse_uvu(text, run["file"])
        if kind == "tape":
            return parse_tape(text, run["file"])
    except (ValueError, ElementTree.ParseError, AttributeError, TypeError):
        return {}
    raise ValueError(f"unknown report format {kind!r}")


def expected_outcome(test: str, outcomes: dict[str, str]) -> str:
    """One expected test's outcome; for ``file::*``, the worst of the file's tests that
    ran (skips aside), "absent" when none passed."""
    if not test.endswith(ID_SEPARATOR + ALL_TESTS):
        return outcomes.get(test, "absent")
    prefix = test[: -len(ALL_TESTS)]
    ran = [outcome for name, outcome in outcomes.items() if name.startswith(prefix)]
    if FAILED in ran:
        return FAILED
    return PASSED if PASSED in ran else "absent"


def judge(expected: list[str] | None, outcomes: dict[str, str], problems: list[str]) -> dict:
    """The verdict: reward 1 iff the runtime is intact and every expected test passed."""
    if expected is None:
        return {"reward": 0, "reason": "report only: no expected tests given"}
    not_passed = {test: expected_outcome(test, outcomes) for test in expected}
    not_passed = {test: outcome for test, outcome in not_passed.items() if outcome != PASSED}
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        reason = f"the runtime was tampered with: {problems[0]}{more}"
        return {"reward": 0, "reason": reason, "not_passed": not_passed}
    if not expected:
        return {"reward": 0, "reason": "no expected tests"}
    if not_passed:
        reason = f"{len(not_passed)} of {len(expected)} expected tests did not pass"
        return {"reward": 0, "reason": reason, "not_passed": not_passed}
    return {"reward": 1, "reason": f"all {len(expected)} expected tests passed"}


# --- build-time scan --------------------------------------------------------------------


def _walk_files(root: str, skip: set[str]) -> list[str]:
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            path = os.path.join(directory, name)
            if name.endswith((".pyc", ".pyo")) or os.path.islink(path):
                continue
            if os.path.isfile(path):
                found.append(path)
    return found


def _interpreter(path: str) -> dict:
    real = os.path.realpath(path)
    return {"path": path, "realpath": real, "sha256": sha256_file(real)}


def _python_paths(python: str) -> dict:
    # Python 3.8/3.9 too (bullseye): entry_points(group=...) and EntryPoint.dist are 3.10+.
    code = (
        "import json, sysconfig, importlib.metadata as m; "
        "eps = [(d.metadata['Name'], e) for d in m.distributions() "
        "for e in d.entry_points if e.group == 'pytest11']; "
        "print(json.dumps({'paths': sysconfig.get_paths(), 'plugins': sorted("
        "{(e.name, e.value) for _, e in eps}), 'plugin_dists': sorted("
        "{name for name, _ in eps if name})}))"
    )
    output = subprocess.run(
        [python, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return json.loads(output)


def hook_files(roots: list[str], names: tuple[str, ...], *, recursive: bool) -> list[str]:
    """Startup-hook files under ``roots``: ``names`` and ``*.pth`` (top level only unless
    ``recursive``; recursive walks skip node_modules and VCS folders)."""
    found: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            continue
        if recursive:
            candidates = _walk_files(root, {"node_modules"})
        else:
            candidates = [os.path.join(root, name) for name in sorted(os.listdir(root))]
        for path in candidates:
            base = os.path.basename(path)
            if (base in names or (not recursive and base.endswith(".pth"))) and os.path.isfile(
                path
            ):
                found.append(path)
    return found


def scan(kind: str, workdir: str, venv: str | None) -> dict:
    """What the verifier must find unchanged later, read from a fresh container."""
    judge_python = _interpreter(sys.executable)
    stdlib = os.path.dirname(os.__file__)
    runtime = [judge_python["realpath"]]
    runtime += _walk_files(stdlib, _STDLIB_SKIPPED)
    facts: dict = {"kind": kind, "judge_python": judge_python, "stdlib": stdlib}
    site_dirs = [stdlib]
    if kind == "python" and venv:
        python = os.path.join(venv, "bin", "python")
        facts["python"] = _interpreter(python)
        described = _python_paths(python)
        purelib = described["paths"]["purelib"]
        platlib = described["paths"]["platlib"]
        facts["site_packages"] = sorted({purelib, platlib})
        facts["pytest_plugins"] = [list(pair) for pair in described["plugins"]]
        runtime.append(facts["python"]["realpath"])
        runtime.append(os.path.join(venv, "pyvenv.cfg"))
        for site in facts["site_packages"]:
            runtime += _walk_files(site, set())
            site_dirs.append(site)
        hashed = set(runtime)
        facts["owners"] = {
            path: owner
            for site in facts["site_packages"]
            for path, owner in distribution_files(site).items()
            if path in hashed
        }
        facts["runner_distributions"] = sorted(
            {*RUNNER_DISTRIBUTIONS, *(normalize(d) for d in described.get("plugin_dists", []))}
        )
    if kind == "node":
        node = shutil.which("node") or "/usr/bin/node"
        facts["node"] = _interpreter(node)
        runtime.append(facts["node"]["realpath"])
        runners, versions = {}, {}
        for package in ("jest", "vitest", "mocha", "ava", "tap", "tape", "uvu"):
            manifest = _find_package(workdir, package)
            if manifest:
                runners[package] = _node_bin(manifest, package)
                versions[package] = _package_version(manifest)
                runtime += _walk_files(os.path.dirname(manifest), set())
        facts["node_runners"] = runners
        facts["node_runner_versions"] = versions
    user_sites = [
        os.path.join(home, ".local", "lib", os.path.basename(stdlib), "site-packages")
        for home in ("/root", os.path.expanduser("~"))
    ]
    facts["hook_dirs"] = sorted({*site_dirs, *user_sites, workdir})
    present = hook_files(facts["hook_dirs"], HOOK_NAMES, recursive=False)
    present += hook_files([workdir], ("conftest.py", *HOOK_NAMES), recursive=True)
    facts["hooks"] = {path: sha256_file(path) for path in sorted(set(present))}
    facts["runtime"] = {path: sha256_file(path) for path in sorted(set(runtime))}
    facts["project_manifests"] = {path: sha256_file(path) for path in manifest_files(workdir)}
    return facts


def normalize(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def manifest_files(workdir: str) -> list[str]:
    """The project's dependency manifests: known names and requirements files, at its top."""
    if not os.path.isdir(workdir):
        return []
    return [
        os.path.join(workdir, name)
        for name in sorted(os.listdir(workdir))
        if (name in MANIFEST_NAMES or _REQUIREMENTS_FILE.match(name))
        and os.path.isfile(os.path.join(workdir, name))
    ]


def _dist_info(folder: str) -> tuple[str, str] | None:
    """(normalized name, version) of a ``*.dist-info`` folder, from its METADATA."""
    fields: dict[str, str] = {}
    try:
        with open(os.path.join(folder, "METADATA"), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        return None
    if "name" not in fields or "version" not in fields:
        return None
    return normalize(fields["name"]), fields["version"]


def _record_entries(folder: str, site: str) -> list[tuple[str, str]]:
    """(absolute path, ``sha256=...`` or "") of each file a ``RECORD`` lists."""
    try:
        with open(os.path.join(folder, "RECORD"), encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError:
        return []
    return [
        (os.path.normpath(os.path.join(site, row[0])), row[1] if len(row) > 1 else "")
        for row in rows
        if row and row[0]
    ]


def distribution_files(site: str) -> dict[str, str]:
    """Every file an installed distribution in ``site`` owns, as ``name==version``."""
    owners: dict[str, str] = {}
    if not os.path.isdir(site):
        return owners
    for entry in sorted(os.listdir(site)):
        folder = os.path.join(site, entry)
        info = _dist_info(folder) if entry.endswith(".dist-info") else None
        if info is None:
            continue
        owner = f"{info[0]}=={info[1]}"
        for path, _digest in _record_entries(folder, site):
            owners[path] = owner
    return owners


def installed(sites: list[str], name: str) -> tuple[str, str] | None:
    """(version, dist-info folder) of distribution ``name`` installed now, if it is."""
    for site in sites:
        if not os.path.isdir(site):
            continue
        for entry in sorted(os.listdir(site)):
            folder = os.path.join(site, entry)
            info = _dist_info(folder) if entry.endswith(".dist-info") else None
            if info is not None and info[0] == name:
                return info[1], folder
    return None


def record_mismatches(folder: str, site: str) -> list[str]:
    """Files of an installed distribution that do not match the hash its RECORD gives."""
    wrong: list[str] = []
    for path, digest in _record_entries(folder, site):
        algorithm, _, expected = digest.partition("=")
        if algorithm != "sha256":
            continue  # RECORD itself, and .pyc files, carry no hash
        try:
            with open(path, "rb") as handle:
                actual = hashlib.sha256(handle.read()).digest()
        except OSError:
            wrong.append(f"missing: {path}")
            continue
        if base64.urlsafe_b64encode(actual).rstrip(b"=").decode() != expected:
            wrong.append(f"changed: {path}")
    return wrong


def _find_package(workdir: str, package: str) -> str | None:
    """node_modules/<package>/package.json at the workdir or one level of packages below
    it (a workspace monorepo keeps the runner in the root's or in a package's)."""
    direct = os.path.join(workdir, "node_modules", package, "package.json")
    if os.path.isfile(direct):
        return direct
    for parent in ("packages", "libs", "apps"):
        folder = os.path.join(workdir, parent)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            nested = os.path.join(folder, name, "node_modules", package, "package.json")
            if os.path.isfile(nested):
                return nested
    return None


def _package_version(manifest: str) -> str:
    with open(manifest, encoding="utf-8") as handle:
        return str(json.load(handle).get("version", ""))


def _node_bin(manifest: str, package: str) -> str:
    with open(manifest, encoding="utf-8") as handle:
        data = json.load(handle)
    binary = data.get("bin")
    if isinstance(binary, dict):
        binary = binary.get(package) or next(iter(binary.values()), None)
    return os.path.realpath(os.path.join(os.path.dirname(manifest), str(binary or "")))


# --- verification -----------------------------------------------------------------------


def read_manifest(path: str) -> dict[str, str]:
    """``sha256sum``-style lines: hash, two spaces, absolute path."""
    manifest: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                digest, _, file = line.rstrip("\n").partition("  ")
                manifest[file] = digest
    return manifest


def check_runtime(manifest: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for path, digest in manifest.items():
        try:
            actual = sha256_file(path)
        except OSError:
            problems.append(f"missing: {path}")
            continue
        if actual != digest:
            problems.append(f"changed: {path}")
    return problems


def classify_changes(
    problems: list[str], owners: dict[str, str], plan: dict
) -> tuple[list[str], list[str]]:
    """Split runtime changes into tampering (with the reason) and accepted dependency
    changes (with what makes them legitimate); see the module's docstring."""
    by_owner: dict[str, list[str]] = {}
    tampering: list[str] = []
    runner = set(plan.get("runner_distributions") or RUNNER_DISTRIBUTIONS)
    for problem in problems:
        owner = owners.get(problem.partition(": ")[2])
        if owner is None:
            tampering.append(f"{problem} (part of the interpreter or runtime, not a package)")
        elif owner.partition("==")[0] in runner:
            tampering.append(f"{problem} (the test runner, {owner}, must stay as built)")
        else:
            by_owner.setdefault(owner, []).append(problem)
    accepted: list[str] = []
    changed = changed_manifests(plan)
    for owner, files in sorted(by_owner.items()):
        why = _upgrade_refused(owner, plan, changed)
        if why is None:
            name, _, old = owner.partition("==")
            new, _folder = installed(plan.get("site_packages", []), name) or ("?", "")
            manifests = ", ".join(sorted(os.path.basename(path) for path in changed))
            accepted.append(
                f"{name} {old} -> {new}: the project's {manifests} declares it and its "
                f"files match its RECORD ({len(files)} file(s) changed)"
            )
        else:
            tampering += [f"{problem} ({why})" for problem in files]
    return tampering, accepted


def changed_manifests(plan: dict) -> list[str]:
    """The project's dependency manifests that differ from the build (added ones too)."""
    recorded = plan.get("project_manifests") or {}
    changed = []
    for path in sorted({*recorded, *manifest_files(plan["workdir"])}):
        try:
            digest = sha256_file(path)
        except OSError:
            digest = None
        if digest != recorded.get(path):
            changed.append(path)
    return changed


def _upgrade_refused(owner: str, plan: dict, changed: list[str]) -> str | None:
    """Why a change to the files of distribution ``owner`` is not a legitimate upgrade."""
    name, _, old = owner.partition("==")
    found = installed(plan.get("site_packages", []), name)
    if found is None:
        return f"{name} was removed"
    version, folder = found
    if version == old:
        return f"{name} {old} was changed in place, not upgraded"
    site = os.path.dirname(folder)
    mismatches = record_mismatches(folder, site)
    if mismatches:
        return f"{name} {version}'s files do not match its RECORD: {mismatches[0]}"
    if not changed:
        return f"{name} {old} -> {version} without a change to the project's dependency manifest"
    word = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
    for path in changed:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if word.search(normalize(handle.read())):
                    return None
        except OSError:
            continue
    return f"{name} {old} -> {version}, but no changed manifest of the project names {name}"


def check_interpreters(interpreters: list[dict]) -> list[str]:
    """Each interpreter path still leads to the binary the manifest vouches for."""
    problems: list[str] = []
    for interpreter in interpreters:
        if os.path.realpath(interpreter["path"]) != interpreter["realpath"]:
            problems.append(f"redirected: {interpreter['path']}")
    return problems


def remove_foreign_hooks(plan: dict) -> list[str]:
    """Delete startup hooks and conftest.py files the image did not have (or had otherwise)."""
    allowed = plan["hooks"]
    shipped = {item["target"] for item in plan["files"]}
    found = hook_files(plan["hook_dirs"], HOOK_NAMES, recursive=False)
    found += hook_files([plan["workdir"]], ("conftest.py", *HOOK_NAMES), recursive=True)
    removed: list[str] = []
    for path in sorted(set(found)):
        if path in shipped:
            continue
        if allowed.get(path) == sha256_file(path):
            continue
        os.remove(path)
        removed.append(path)
    return removed


def install_test_files(plan: dict, plan_dir: str) -> None:
    """Copy the hidden test files to their places, replacing whatever the agent put there."""
    workdir = os.path.realpath(plan["workdir"])
    for item in plan["files"]:
        target = item["target"]
        _clear_symlinked_parents(target, workdir)
        if os.path.islink(target) or os.path.isfile(target):
            os.remove(target)
        elif os.path.isdir(target):
            shutil.rmtree(target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(plan_dir, item["source"]), target)


def _clear_symlinked_parents(target: str, workdir: str) -> None:
    """A test folder turned into a symlink (to somewhere the agent controls) becomes a
    real folder again."""
    parent = os.path.dirname(target)
    chain = []
    while parent.startswith(workdir + "/"):
        chain.append(parent)
        parent = os.path.dirname(parent)
    for folder in reversed(chain):
        if os.path.islink(folder) or (os.path.exists(folder) and not os.path.isdir(folder)):
            os.remove(folder)
        os.makedirs(folder, exist_ok=True)


def prepare(plan: dict, logs: str) -> list[dict]:
    """The build the tests import (tsc to dist/, say), from the sources as they are now."""
    records = []
    env = dict(plan["env"])
    with open(os.path.join(logs, "test-output.txt"), "a", encoding="utf-8") as log:
        for step in plan.get("prepare", []):
            log.write(f"\n===== prepare {step['label']}: {' '.join(step['argv'])}\n")
            log.flush()
            try:
                completed = subprocess.run(
                    step["argv"], cwd=step["cwd"], env=env, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, timeout=step["timeout_sec"],
                    check=False,
                )  # fmt: skip
                code: int | None = completed.returncode
            except (subprocess.TimeoutExpired, OSError) as error:
                log.write(f"{error}\n")
                code = None
            records.append({"label": f"prepare: {step['label']}", "exit_code": code, "tests": 0})
    return records


def run_tests(plan: dict, logs: str) -> tuple[dict[str, str], list[dict]]:
    outcomes: dict[str, str] = {}
    records: list[dict] = prepare(plan, logs)
    env = dict(plan["env"])
    # A fresh bytecode cache: no planted .pyc file is read.
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="kettle-pycache-")
    for run in plan["runs"]:
        report = run.get("report_path")
        if report:
            os.makedirs(os.path.dirname(report), exist_ok=True)
            if os.path.exists(report):
                os.remove(report)
        started = time.monotonic()
        timed_out = False
        log_path = os.path.join(logs, "test-output.txt")
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"\n===== {run['label']}: {' '.join(run['argv'])}\n")
            log.flush()
            offset = log.tell()
            stdout = open(report, "w", encoding="utf-8") if run.get("stdout_report") else log  # noqa: SIM115
            try:
                completed = subprocess.run(
                    run["argv"],
                    cwd=run["cwd"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=log if stdout is not log else subprocess.STDOUT,
                    timeout=run["timeout_sec"],
                    check=False,
                )
                exit_code: int | None = completed.returncode
            except subprocess.TimeoutExpired:
                exit_code, timed_out = None, True
            except OSError as error:
                log.write(f"could not start: {error}\n")
                exit_code = None
            finally:
                if stdout is not log:
                    stdout.close()
        text = None
        if report and os.path.isfile(report):
            with open(report, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        elif run["report_format"] == "mocha-json":
            # mocha before 9 has no output option for its json reporter: it prints the
            # report, after whatever the tests printed.
            text = _output_since(log_path, offset)
        found = parse_report(run, text, exit_code)
        for test_id, outcome in found.items():
            _record(outcomes, test_id, outcome)
        record = {
            "label": run["label"],
            "exit_code": exit_code,
            "timed_out": timed_out,
            "tests": len(found),
            "duration_sec": round(time.monotonic() - started, 3),
        }
        # A file that does not load (an import error, a syntax error) runs no test: its
        # output says why, and the builder needs that to tell a missing name from a bug.
        collection = any(f"{ID_SEPARATOR}<collection>{ID_SEPARATOR}" in t for t in found)
        if collection or (not found and exit_code not in (0, None)):
            record["load_error"] = _output_since(log_path, offset)[-2000:]
        records.append(record)
    return outcomes, records


def _output_since(path: str, offset: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return ""


def run(plan_path: str) -> int:
    plan_dir = os.path.dirname(os.path.abspath(plan_path))
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    logs = plan.get("logs_dir", "/logs/verifier")
    os.makedirs(logs, exist_ok=True)
    problems = check_interpreters(plan["interpreters"])
    changes = check_runtime(read_manifest(os.path.join(plan_dir, plan["runtime_manifest"])))
    tampering, accepted = classify_changes(changes, _read_owners(plan_dir), plan)
    problems += tampering
    notes = _dependency_notes(plan, accepted)
    removed = remove_foreign_hooks(plan)
    outcomes: dict[str, str] = {}
    records: list[dict] = []
    if not problems:
        install_test_files(plan, plan_dir)
        outcomes, records = run_tests(plan, logs)
    verdict = judge(plan.get("expected"), outcomes, problems)
    summary = {
        **verdict,
        "integrity_problems": problems,
        "accepted_changes": accepted,
        "notes": notes,
        "removed_hooks": removed,
        "runs": records,
        "tests": dict(sorted(outcomes.items())),
    }
    with open(os.path.join(logs, "outcomes.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    with open(os.path.join(logs, "reward.txt"), "w", encoding="utf-8") as handle:
        handle.write(f"{verdict['reward']}\n")
    for path in removed:
        print(f"removed a startup hook the image did not have: {path}")
    for change in accepted:
        print(f"accepted dependency change: {change}")
    for note in notes:
        print(f"note: {note}")
    for problem in problems[:20]:
        print(f"runtime tampered with: {problem}")
    print(f"reward {verdict['reward']}: {verdict['reason']}")
    for test, outcome in sorted(verdict.get("not_passed", {}).items())[:50]:
        print(f"  {outcome}: {test}")
    return 0


def _read_owners(plan_dir: str) -> dict[str, str]:
    try:
        with open(os.path.join(plan_dir, OWNERS_FILE), encoding="utf-8") as handle:
            return dict(json.load(handle))
    except (OSError, ValueError):
        return {}


def _dependency_notes(plan: dict, accepted: list[str]) -> list[str]:
    """Said when the project's manifest changed but the packages here are the image's."""
    changed = changed_manifests(plan)
    if not changed or accepted:
        return []
    names = ", ".join(os.path.basename(path) for path in changed)
    return [
        f"the solution changed the project's dependency manifest ({names}), but the packages "
        "installed here are the image's: a verifier in a fresh copy of the image (Harbor's "
        f"separate verifier) gets only {plan['workdir']} from the agent, so dependency "
        "changes are not installed for the tests"
    ]


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "scan":
        venv = argv[3] if len(argv) > 3 else None
        print(json.dumps(scan(argv[1], argv[2], venv)))
        return 0
    if len(argv) == 2 and argv[0] == "run":
        return run(argv[1])
    print("usage: judge.py scan KIND WORKDIR [VENV] | judge.py run PLAN", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
