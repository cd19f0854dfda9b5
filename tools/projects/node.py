"""How a Node.js project installs, builds and tests, read from its own files.

The package manager is the one the project uses: ``packageManager`` in package.json, else
its lock file (package-lock.json / npm-shrinkwrap.json: npm; yarn.lock: yarn, classic or
berry by its ``.yarnrc.yml``; pnpm-lock.yaml: pnpm). A package of a workspace monorepo
installs from the workspace root. The test runner is the one the test script calls (jest,
vitest, mocha, ava, tap, uvu, node's own ``--test``); a ``pretest``/``build`` step that
compiles the sources the tests import (TypeScript to ``dist/``) runs before the tests, in
the verifier too, so the agent's edits to the sources are what is tested. Linters and type
checks chained into those scripts are left out: a style rule must not fail a correct fix.

Everything here reads files only; nothing is installed or run.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

from tools.projects.files import read_json, read_text
from tools.projects.records import NodeRunner, NodeSetup, PackageManager

NODE_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
_RUNNERS: tuple[NodeRunner, ...] = ("vitest", "jest", "mocha", "ava", "tap", "tape", "uvu")
_COMPILED_DIRS = ("dist", "build", "lib", "out", "libesm", "libcjs", "esm", "cjs")


def node_setup(root: Path, workspace_root: Path) -> tuple[NodeSetup, list[str]]:
    """The recipe of the Node project at ``root``; ``workspace_root`` is the repository's
    top, which holds the lock file and workspaces of a monorepo."""
    notes: list[str] = []
    package = read_json(root / "package.json") or {}
    install_root = _install_root(root, workspace_root)
    top = read_json(install_root / "package.json") or package
    script = suite_script(package)
    dependencies = sorted(
        {
            name
            for source in (package, top)
            for key in ("dependencies", "devDependencies", "optionalDependencies")
            for name in (source.get(key) or {})
        }
    )
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    runner, flags = node_runner(script and expand_calls(scripts, script), dependencies)
    if runner == "npm-test" and script:
        notes.append(f"test script {script!r} has no known runner: the whole suite is one test")
    manager, version, yarn_path = package_manager(install_root, top)
    lock = next((name for name in NODE_LOCKS if (install_root / name).is_file()), None)
    engines = (package.get("engines") or {}) if isinstance(package.get("engines"), dict) else {}
    top_engines = (top.get("engines") or {}) if isinstance(top.get("engines"), dict) else {}
    pinned = None
    for name in (".nvmrc", ".node-version"):
        for folder in (root, install_root):
            text = read_text(folder / name)
            if text and text.strip():
                pinned = pinned or text.strip().splitlines()[0]
    build = _build_step(root, scripts, script)
    return (
        NodeSetup(
            package_name=package["name"] if isinstance(package.get("name"), str) else None,
            test_script=script,
            runner=runner,
            runner_flags=flags,
            dependencies=dependencies,
            lock_file=lock,
            engines_node=str(engines.get("node") or top_engines.get("node") or "") or None,
            pinned_node=pinned,
            package_manager=manager,
            package_manager_version=version,
            yarn_path=yarn_path,
            install_dir="" if install_root == root else os.path.relpath(install_root, root),
            build_script=build,
        ),
        notes,
    )


def _install_root(root: Path, workspace_root: Path) -> Path:
    """The nearest folder above ``root`` whose package.json lists it as a workspace (or
    holds the lock file); ``root`` itself otherwise."""
    folder = root
    while True:
        if folder != root:
            package = read_json(folder / "package.json")
            workspaces = (package or {}).get("workspaces")
            if isinstance(workspaces, dict):
                workspaces = workspaces.get("packages")
            if isinstance(workspaces, list) and _listed(root, folder, workspaces):
                return folder
            if (folder / "pnpm-workspace.yaml").is_file():
                return folder
        if folder == workspace_root or folder.parent == folder:
            break
        folder = folder.parent
    if not any((root / lock).is_file() for lock in NODE_LOCKS):
        # A package without its own lock file, in a repository whose top has one.
        for lock in NODE_LOCKS:
            if (workspace_root / lock).is_file() and root != workspace_root:
                return workspace_root
    return root


def _listed(root: Path, folder: Path, patterns: list[Any]) -> bool:
    relative = root.relative_to(folder).as_posix()
    return any(PurePosixPath(relative).match(str(pattern).rstrip("/")) for pattern in patterns)


def package_manager(install_root: Path, package: dict[str, Any]) -> tuple[
    PackageManager, str | None, str | None
]:  # fmt: skip
    """(the package manager, its version if pinned, a committed yarn release to run)."""
    declared = str(package.get("packageManager") or "")
    name, _, version = declared.partition("@")
    version = version.split("+", 1)[0] or None
    yarnrc = read_text(install_root / ".yarnrc.yml") or ""
    yarn_path = None
    match = re.search(r"^yarnPath:\s*['\"]?([^'\"\n]+)", yarnrc, re.M)
    if match and (install_root / match.group(1).strip()).is_file():
        yarn_path = match.group(1).strip()
    if name == "pnpm" or (not name and (install_root / "pnpm-lock.yaml").is_file()):
        return "pnpm", version, None
    if name == "yarn" or (not name and (install_root / "yarn.lock").is_file()):
        berry = bool(yarnrc) or (version is not None and not version.startswith("1."))
        if yarn_path and not version:
            found = re.search(r"yarn-(\d[\w.-]*)\.c?js$", yarn_path)
            version = found.group(1) if found else None
        return ("yarn-berry" if berry else "yarn-classic"), version, yarn_path
    return "npm", version if name == "npm" else None, None


def suite_script(package: dict[str, Any]) -> str | None:
    """The test script, without the linters and type checks it chains in."""
    scripts = package.get("scripts", {})
    scripts = scripts if isinstance(scripts, dict) else {}
    script = scripts.get("test")
    if not isinstance(script, str) or not script.strip():
        return None
    # npm init's placeholder is not a test suite.
    if "no test specified" in script:
        return None
    return without_checks(scripts, script.strip())


# Steps that check style or types and compile nothing the tests import: a verifier that runs
# them would fail a correct fix for a lint rule ("npm run lint && tape", "pretest": "npm run
# lint", "tsc --noEmit && vitest").
_CHECK_TOOLS = re.compile(
    r"(?<![\w./-])(eslint|prettier|standard|xo|tslint|biome|evalmd|attw|publint|depcheck|"
    r"markdownlint|stylelint|lint-staged|commitlint|knip|aud|npmignore)(?![\w-])"
    r"|(?<![\w-])tsc\b[^&|;]*--noEmit\b"
)
_CHECK_SCRIPT_NAMES = re.compile(
    r"(^|[:-])(lint|format|prettier|typecheck|type-check|check-types|types|tsd|audit)([:-]|$)"
)
_SCRIPT_CALL = re.compile(r"^(?:npm|pnpm|yarn)\s+(?:run(?:-script)?\s+)?([\w:.@/-]+)$")


def without_checks(scripts: dict[str, Any], command: str, depth: int = 0) -> str | None:
    """``command`` (steps joined by ``&&``) without its check-only steps; a step that runs
    another script is kept whole when that script has no checks, else replaced by what is
    left of it. None when nothing but checks remains."""
    kept: list[str] = []
    for step in (part.strip() for part in re.split(r"\s*&&\s*", command.strip())):
        call = _SCRIPT_CALL.match(step)
        name = call.group(1) if call else None
        called = scripts.get(name) if name and name not in ("test", "start") else None
        if name and _CHECK_SCRIPT_NAMES.search(name):
            continue
        if isinstance(called, str) and depth < 4:
            rest = without_checks(scripts, called, depth + 1)
            if rest == called.strip():
                kept.append(step)  # through npm, so its own pre/post scripts run too
            elif rest:
                kept.append(rest)
            continue
        if step and not _CHECK_TOOLS.search(step):
            kept.append(step)
    return " && ".join(kept) or None


def expand_calls(scripts: dict[str, Any], command: str, depth: int = 0) -> str:
    """``command`` with each step that runs another script ("npm run tests-only") replaced
    by that script's text: where the runner and its flags are named."""
    steps = []
    for step in (part.strip() for part in re.split(r"\s*&&\s*", command.strip())):
        call = _SCRIPT_CALL.match(step)
        called = scripts.get(call.group(1)) if call else None
        if isinstance(called, str) and call and call.group(1) != "test" and depth < 4:
            step = expand_calls(scripts, called, depth + 1)
        steps.append(step)
    return " && ".join(steps)


def node_runner(script: str | None, dependencies: list[str]) -> tuple[NodeRunner, list[str]]:
    """The runner a test script uses, and node's own flags of a ``node --test`` script."""
    if script is None:
        return "node-test", []
    words = script.split()
    if "node" in words and "--test" in words:
        start = words.index("node") + 1
        flags = [
            word
            for word in words[start:]
            if word.startswith("--")
            and word != "--test"
            and not word.startswith(("--test-reporter", "--watch"))
        ]
        return "node-test", flags
    # "node --expose-gc ./node_modules/vitest/vitest.mjs run": node's own flags go along.
    flags = []
    if "node" in words:
        for word in words[words.index("node") + 1 :]:
            if not word.startswith("--"):
                break
            flags.append(word)
    for runner in _RUNNERS:
        if re.search(rf"(?<![\w-]){runner}(?![\w-])", script) and runner in dependencies:
            if runner in ("tape", "mocha"):
                flags += _require_flags(_runner_words(words, runner))
            return runner, flags
    # A script that only calls another script ("npm run test:unit") names no runner: the
    # dependencies decide when exactly one runner is installed.
    installed = [runner for runner in _RUNNERS if runner in dependencies]
    if len(installed) == 1:
        return installed[0], flags
    return "npm-test", []


def _runner_words(words: list[str], runner: str) -> list[str]:
    """The words of the runner's own command: after its name, up to the next command (the
    `-r lcov` of `c8 -r lcov mocha` is the coverage tool's reporter, not mocha's)."""
    at = next((i for i, w in enumerate(words) if w == runner or w.endswith(f"/{runner}")), None)
    if at is None:
        return []
    own: list[str] = []
    for word in words[at + 1 :]:
        if word in ("&&", "||", ";", "|") or word.endswith(";"):
            break
        own.append(word)
    return own


def _require_flags(words: list[str]) -> list[str]:
    """tape's or mocha's ``-r module`` (``@babel/register``, ``ts-node/register``) as node's
    own ``--require module``, which loads it the same way: the verifier runs the runner's
    CLI through node, one test file at a time, with its own reporter options."""
    flags: list[str] = []
    for before, word in zip(["", *words], words, strict=False):
        if before in ("-r", "--require"):
            flags += ["--require", word.strip("'\"")]
        elif word.startswith("--require="):
            flags += ["--require", word.split("=", 1)[1].strip("'\"")]
    return flags


def _build_step(root: Path, scripts: dict[str, Any], script: str | None) -> str | None:
    """The command that compiles what the tests import, if the tests need one first."""
    pretest = scripts.get("pretest")
    if isinstance(pretest, str) and pretest.strip():
        needed = without_checks(scripts, pretest)
        if needed == pretest.strip():
            return "npm run pretest"
        if needed:
            return needed
    if script:
        # "npm run build && vitest", "tsc && node --test dist/"
        first = re.split(r"\s*&&\s*", script)[0]
        if re.search(r"\b(tsc|build|compile|rollup|tsup|esbuild|tshy|babel)\b", first) and (
            first != script
        ):
            return first
    build = scripts.get("build")
    if isinstance(build, str) and build.strip():
        tests_import_compiled = _tests_import_compiled(root)
        if tests_import_compiled:
            return "npm run build"
    return None


def _tests_import_compiled(root: Path) -> bool:
    """Do the test files import from a compiled folder (dist/, build/, lib/ ...) that is
    not in the repository?"""
    folders = "|".join(_COMPILED_DIRS)
    pattern = re.compile(rf"""(?:from|require\(|import\()\s*['"](\.\.?/)+({folders})/""")
    for folder in ("test", "tests", "__tests__", "spec"):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in list(directory.rglob("*.[cm]js"))[:50] + list(directory.rglob("*.js"))[:50]:
            text = read_text(path) or ""
            match = pattern.search(text)
            if match and not (root / match.group(2)).is_dir():
                return True
    return False


_TYPESCRIPT = (".ts", ".tsx", ".mts", ".cts")


def compiled_test(setup: NodeSetup, module: str) -> str | None:
    """Where a TypeScript test file's compiled JavaScript is, for a test script that runs
    the compiled tests (``node --test dist/esm/test/*.js``); None when it does not say."""
    if not module.endswith(_TYPESCRIPT) or not setup.test_script:
        return None
    stem = PurePosixPath(module).name.rsplit(".", 1)[0]
    for token in setup.test_script.split():
        folder = token.split("*", 1)[0].rstrip("/") if "*" in token else ""
        if folder and folder.split("/")[0] in _COMPILED_DIRS and token.endswith("js"):
            return f"{folder}/{stem}.js"
    return None


def runner_command(setup: NodeSetup, files: list[str]) -> str:
    """The project's runner on just ``files`` (the whole test script when it cannot be
    pointed at files), after the build the tests need."""
    files = [compiled_test(setup, f) or f for f in files]
    quoted = " ".join(shlex.quote(f) for f in files)
    flags = " ".join(setup.runner_flags)
    node = f"node {flags} " if flags else ""
    per_runner = {
        "jest": f"{node}$(command -v jest) --ci {quoted}",
        "vitest": f"{node}$(command -v vitest) run {quoted}",
        "mocha": f"{node}$(command -v mocha) {quoted}",
        "ava": f"{node}$(command -v ava) {quoted}",
        "tap": f"{node}$(command -v tap) {quoted}",
        "tape": f"{node}$(command -v tape) {quoted}",
        "uvu": " && ".join(" ".join(filter(None, ["node", flags, shlex.quote(f)])) for f in files),
        "node-test": " ".join(filter(None, ["node --test", flags, quoted])),
    }
    typescript = any(f.endswith(_TYPESCRIPT) for f in files)
    command = per_runner.get(setup.runner)
    if command is None or not files or (setup.runner == "node-test" and typescript):
        command = setup.test_script or "npm test"
    if setup.build_script and setup.build_script not in command:
        command = f"{setup.build_script} && {command}"
    return command
