"""Which files of a project are its tests, by the project's own test-runner configuration.

Folder names lie: ``falcon/testing/`` and ``trio/testing/`` are library code that users
import, while ``testing/`` is pluggy's test suite. So a test file is what the runner would
collect: pytest's ``testpaths`` and ``python_files``, jest's ``testMatch``/``testRegex``,
vitest's ``include``, mocha's ``spec``, ava's ``files``, node's own runner defaults. A
file next to collected tests (``conftest.py``, fixtures and helpers inside a test folder)
is test support and goes with the tests. Without configuration each runner's defaults
apply; a path the layout does not know falls back to the folder-name heuristic of
``tools.projects.paths``.

Everything here reads files only (through ``read``), so it works on a checked-out tree and
on a commit of a bare repository alike.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from tools.projects.files import parse_json_object
from tools.projects.paths import classify_path
from tools.projects.python import PYTEST_CONFIG_FILES, pytest_options_of

Reader = Callable[[str], str | None]

PYTEST_DEFAULT_FILES = ("test_*.py", "*_test.py")
# unittest-style suites (``*_tests.py``; a single module ``tests.py`` or ``test.py``, as
# python-slugify's at its root) that pytest runs when told to.
UNITTEST_FILES = ("*_tests.py", "tests.py", "test.py")
# Where JavaScript runners look by default (union of jest, vitest, node --test, ava, tap).
JS_DEFAULT_PATTERNS = (
    "**/__tests__/**/*.?([cm])[jt]s?(x)",
    "**/*.test.?([cm])[jt]s?(x)",
    "**/*.spec.?([cm])[jt]s?(x)",
    "**/*-test.?([cm])[jt]s",
    "**/*_test.?([cm])[jt]s",
    "**/test-*.?([cm])[jt]s",
    "test/**/*.?([cm])[jt]s?(x)",
    "tests/**/*.?([cm])[jt]s?(x)",
    "test.?([cm])js",
)
_JS_SUFFIX = re.compile(r"\.[cm]?[jt]sx?$")
# Python and JavaScript/TypeScript code (anything else beside the tests is data).
CODE_FILE = re.compile(r"\.(py|[cm]?[jt]sx?)$")
_IGNORED_JS = ("node_modules/", "dist/", "build/", "coverage/", "lib/")
_SUPPORT_DIRS = {"fixtures", "helpers", "helper", "__fixtures__", "__snapshots__", "__mocks__"}


class SuiteLayout(BaseModel):
    """The test-file rules of one project, rooted at ``root`` (repo-relative, "" = top)."""

    root: str = ""
    python_testpaths: list[str] = Field(default_factory=list)
    python_files: list[str] = Field(default_factory=lambda: list(PYTEST_DEFAULT_FILES))
    js_patterns: list[str] = Field(default_factory=list, description="Globs from the config")
    js_regex: list[str] = Field(default_factory=list, description="jest testRegex")
    sources: list[str] = Field(default_factory=list, description="Config files read")

    def is_test(self, path: str) -> bool:
        """Is ``path`` (repo-relative) a test file or test support the runner uses?"""
        relative = self._relative(path)
        if relative is None:
            return classify_path(path) == "test"
        pure = PurePosixPath(relative)
        if pure.suffix == ".py" or pure.name in ("pytest.ini", "conftest.py"):
            return self._python_test(pure)
        if _JS_SUFFIX.search(pure.name):
            return self._js_test(relative)
        if snapshot_of(relative) is not None:
            return True
        # Data files: test data when they live with the tests.
        return self._in_test_folder(pure) or classify_path(path) == "test"

    def is_test_module(self, path: str) -> bool:
        """A file the runner itself runs (not conftest.py, fixtures or helpers)."""
        relative = self._relative(path)
        if relative is None:
            return False
        pure = PurePosixPath(relative)
        if pure.suffix == ".py":
            return self._python_collects(pure) and self._under_testpaths(pure)
        if _JS_SUFFIX.search(pure.name):
            if snapshot_of(relative) is not None:
                return False
            in_support = bool({part.lower() for part in pure.parts[:-1]} & _SUPPORT_DIRS)
            return self._js_test(relative) and not in_support
        return False

    def _relative(self, path: str) -> str | None:
        if not self.root:
            return path
        prefix = self.root.rstrip("/") + "/"
        return path[len(prefix) :] if path.startswith(prefix) else None

    def _python_collects(self, pure: PurePosixPath) -> bool:
        return any(fnmatch.fnmatch(pure.name, pattern) for pattern in self.python_files)

    def _under_testpaths(self, pure: PurePosixPath) -> bool:
        if not self.python_testpaths:
            return True
        text = pure.as_posix()
        return any(
            text == root or text.startswith(root.rstrip("/") + "/")
            for root in self.python_testpaths
        )

    def _python_test(self, pure: PurePosixPath) -> bool:
        if pure.name == "conftest.py":
            return True
        if self.python_testpaths:
            return self._under_testpaths(pure)
        if self._python_collects(pure):
            return True
        return self._in_test_folder(pure)

    def _in_test_folder(self, pure: PurePosixPath) -> bool:
        """Inside a folder only tests live in: testpaths, or one named test/tests."""
        if self.python_testpaths:
            return self._under_testpaths(pure)
        parts = [part.lower() for part in pure.parts[:-1]]
        return any(part in ("test", "tests", "__tests__") for part in parts)

    def _js_test(self, relative: str) -> bool:
        if relative.startswith(_IGNORED_JS) or "/node_modules/" in relative:
            return False
        if self.js_regex:
            return any(re.search(pattern, "/" + relative) for pattern in self.js_regex)
        patterns = self.js_patterns or list(JS_DEFAULT_PATTERNS)
        return any(glob_match(relative, pattern) for pattern in patterns)


_TAP_SNAPSHOTS = "tap-snapshots/"


def snapshot_of(path: str) -> str | None:
    """The test file a snapshot file records (path relative to the project), or None.

    Snapshots are the expected output of a test, not tests: ``tap-snapshots/test/x.js.test.cjs``
    is test/x.js's, ``src/__snapshots__/x.test.ts.snap`` is src/x.test.ts's (jest, vitest).
    A fix that changes a snapshot changes what that test expects.
    """
    pure = PurePosixPath(path)
    if path.startswith(_TAP_SNAPSHOTS) and pure.name.endswith(".test.cjs"):
        return path.removeprefix(_TAP_SNAPSHOTS).removesuffix(".test.cjs")
    if pure.suffix == ".snap" and pure.parent.name == "__snapshots__":
        return (pure.parent.parent / pure.stem).as_posix().removeprefix("./")
    return None


def glob_match(path: str, pattern: str) -> bool:
    """Match a runner glob (``**``, ``*``, ``?(x)``, ``{a,b}``, ``[cm]``) against a path."""
    pattern = pattern.removeprefix("./")
    return _glob_regex(pattern).fullmatch(path) is not None


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if pattern.startswith("?(", index):
            end = pattern.index(")", index)
            out.append(f"(?:{_glob_regex(pattern[index + 2 : end]).pattern})?")
            index = end + 1
            continue
        if pattern.startswith("+(", index):
            end = pattern.index(")", index)
            alternatives = "|".join(
                _glob_regex(part).pattern for part in pattern[index + 2 : end].split("|")
            )
            out.append(f"(?:{alternatives})+")
            index = end + 1
            continue
        if char == "{":
            end = pattern.index("}", index)
            alternatives = "|".join(
                _glob_regex(part).pattern for part in pattern[index + 1 : end].split(",")
            )
            out.append(f"(?:{alternatives})")
            index = end + 1
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.index("]", index)
            out.append(pattern[index : end + 1])
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))


def detect_layout(read: Reader, *, root: str = "") -> SuiteLayout:
    """The test layout of the project at ``root``, from its runner configuration."""

    def at(name: str) -> str | None:
        return read(f"{root.rstrip('/')}/{name}" if root else name)

    layout = SuiteLayout(root=root)
    _pytest_rules(layout, at)
    _js_rules(layout, at)
    return layout


def _pytest_rules(layout: SuiteLayout, at: Reader) -> None:
    for name in PYTEST_CONFIG_FILES:
        options = pytest_options_of(name, at(name))
        if options is None:
            continue
        layout.sources.append(name)
        testpaths = options.get("testpaths")
        if testpaths:
            layout.python_testpaths = [
                path.strip("/").removeprefix("./") for path in _words(testpaths) if path
            ]
        files = options.get("python_files")
        if files:
            layout.python_files = _words(files)
        return
    # No pytest configuration: a unittest suite's file names count too.
    layout.python_files = [*PYTEST_DEFAULT_FILES, *UNITTEST_FILES]


def _words(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value).split()


def _js_rules(layout: SuiteLayout, at: Reader) -> None:
    package = parse_json_object(at("package.json")) or {}
    jest = package.get("jest") if isinstance(package.get("jest"), dict) else None
    if jest is None:
        jest = _jest_config(at)
    if jest:
        layout.sources.append("jest")
        match = jest.get("testMatch")
        regex = jest.get("testRegex")
        if isinstance(match, list):
            layout.js_patterns += [str(item).removeprefix("<rootDir>/") for item in match]
        if isinstance(regex, str):
            layout.js_regex.append(regex)
        elif isinstance(regex, list):
            layout.js_regex += [str(item) for item in regex]
    ava = package.get("ava")
    if isinstance(ava, dict) and isinstance(ava.get("files"), list):
        layout.sources.append("ava")
        layout.js_patterns += [str(item) for item in ava["files"] if not str(item).startswith("!")]
    mocharc = parse_json_object(at(".mocharc.json")) or {}
    in_package = package.get("mocha") if isinstance(package.get("mocha"), dict) else {}
    spec = mocharc.get("spec") or in_package.get("spec")
    if spec:
        layout.sources.append("mocha")
        layout.js_patterns += [str(item) for item in (spec if isinstance(spec, list) else [spec])]
    vitest_include = _vitest_include(at)
    if vitest_include:
        layout.sources.append("vitest")
        layout.js_patterns += vitest_include


def _jest_config(at: Reader) -> dict[str, object] | None:
    for name in ("jest.config.json",):
        data = parse_json_object(at(name))
        if data:
            return data
    for name in ("jest.config.js", "jest.config.ts", "jest.config.mjs", "jest.config.cjs"):
        text = at(name)
        if text:
            return {"testMatch": _string_list(text, "testMatch")} if "testMatch" in text else {}
    return None


def _vitest_include(at: Reader) -> list[str]:
    for name in ("vitest.config.ts", "vitest.config.js", "vitest.config.mts", "vite.config.ts"):
        text = at(name)
        if text and "include" in text:
            # coverage.include and typecheck.include name other files than the tests.
            return _string_list(_without_blocks(text, ("coverage", "typecheck")), "include")
    return []


def _without_blocks(text: str, keys: tuple[str, ...]) -> str:
    """``text`` with the ``key: { ... }`` objects of ``keys`` cut out (braces matched)."""
    for key in keys:
        while (match := re.search(rf"\b{key}\s*:\s*\{{", text)) is not None:
            depth, index = 0, match.end() - 1
            for index in range(match.end() - 1, len(text)):
                depth += {"{": 1, "}": -1}.get(text[index], 0)
                if depth == 0:
                    break
            text = text[: match.start()] + text[index + 1 :]
    return text


def _string_list(text: str, key: str) -> list[str]:
    """The string literals of ``key: [ ... ]`` in a JS config file (no evaluation)."""
    match = re.search(rf"\b{key}\s*:\s*\[([^\]]*)\]", text)
    if not match:
        return []
    return [item for _, item in re.findall(r"(['\"`])(.+?)\1", match.group(1))]


# Files that mark the root of a project (a package of a monorepo has its own).
PROJECT_MARKERS = (
    "pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", "package.json",
)  # fmt: skip


def project_root_of(path: str, files: set[str], read: Reader | None = None) -> str:
    """The nearest folder above ``path`` that holds a project marker ("" for the top).

    With ``read``, a ``package.json`` counts only when it describes a package: a folder of
    ES modules often carries ``{"type": "module"}`` alone, and that folder is no project.
    """
    parent = PurePosixPath(path).parent
    while parent.as_posix() not in (".", ""):
        folder = parent.as_posix()
        if any(_marks_a_project(f"{folder}/{marker}", files, read) for marker in PROJECT_MARKERS):
            return folder
        parent = parent.parent
    return ""


# Keys of a package.json that only a package's own manifest has.
_PACKAGE_KEYS = ("name", "scripts", "dependencies", "devDependencies", "workspaces")


def _marks_a_project(marker: str, files: set[str], read: Reader | None) -> bool:
    if marker not in files:
        return False
    if read is None or not marker.endswith("package.json"):
        return True
    manifest = parse_json_object(read(marker)) or {}
    return any(key in manifest for key in _PACKAGE_KEYS)


def fix_project_dir(paths: Iterable[str], files: set[str], read: Reader | None = None) -> str:
    """The folder of the one project a fix's paths belong to (a monorepo's package), or ""
    when they belong to the top-level project or to several."""
    roots = {project_root_of(path, files, read) for path in paths}
    roots.discard("")
    return roots.pop() if len(roots) == 1 else ""


class TestSplitter:
    """Tells tests from source for any path of a repository at one state, each path by the
    layout of the project it belongs to (so each package of a monorepo by its own rules)."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(self, read: Reader, files: Iterable[str]) -> None:
        self._read = read
        self._files = set(files)
        self._layouts: dict[str, SuiteLayout] = {}

    def layout_for(self, path: str) -> SuiteLayout:
        root = project_root_of(path, self._files, self._read)
        if root not in self._layouts:
            self._layouts[root] = detect_layout(self._read, root=root)
        return self._layouts[root]

    def is_test(self, path: str) -> bool:
        return self.layout_for(path).is_test(path)

    def is_test_module(self, path: str) -> bool:
        return self.layout_for(path).is_test_module(path)

    def test_modules(self, paths: Iterable[str]) -> list[str]:
        """The test files the runner runs for a change to ``paths``: the changed test
        modules, and the tests whose snapshots changed (when the tree has them)."""
        found: list[str] = []
        for path in paths:
            if self.is_test_module(path):
                found.append(path)
                continue
            root = self.layout_for(path).root
            relative = path.removeprefix(f"{root.rstrip('/')}/") if root else path
            owner = snapshot_of(relative)
            if owner is not None:
                full = f"{root.rstrip('/')}/{owner}" if root else owner
                if full in self._files and self.is_test_module(full):
                    found.append(full)
        if not found:
            found = self._modules_reading(paths)
        return list(dict.fromkeys(found))

    def _modules_reading(self, paths: Iterable[str]) -> list[str]:
        """Test modules that name one of ``paths``, data files of a data-driven suite: a
        fix may change only the cases a module reads (markdown-it's fixtures/*.txt)."""
        needles: dict[str, set[str]] = {}  # project root -> names that point at the data
        for path in paths:
            if not self.is_test(path) or CODE_FILE.search(path):
                continue
            pure = PurePosixPath(path)
            root = self.layout_for(path).root
            names = needles.setdefault(root, set())
            names.add(pure.name)
            if len(pure.parent.parts) >= 2:  # "fixtures/markdown-it", not a bare "fixtures"
                names.add("/".join(pure.parent.parts[-2:]))
        found = []
        for module in sorted(self._files):
            root = self.layout_for(module).root
            if root not in needles or not self.is_test_module(module):
                continue
            text = self._read(module) or ""
            if any(needle in text for needle in needles[root]):
                found.append(module)
        return found
