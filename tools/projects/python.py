"""How a Python project installs and tests, read from its own files.

Real projects spread what their tests need over many places, and the baseline builder
reads them all: the project's extras (any test-ish name), PEP 735 dependency groups (with
``include-group``), ``requirements*.txt`` files, tox's ``deps``/``extras``/
``dependency_groups``, a noxfile's ``session.install(...)`` and ``dependency_groups``,
hatch environments, poetry groups. A lock file (uv.lock, poetry.lock, Pipfile.lock,
pdm.lock) pins what it covers. A version computed from git (setuptools-scm, hatch-vcs,
poetry-dynamic-versioning, pdm, uv-dynamic-versioning, versioneer,
setuptools-git-versioning) is told to each tool through its pretend-version mechanism,
because the environment has no ``.git``. The interpreter is the one the project declares
(requires-python, classifiers, tox envlist, CI matrix) among those kettle has offline.

Everything here reads files only; nothing is installed or run.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tools.projects.files import parse_ini, read_ini, read_json, read_text, read_toml
from tools.projects.records import PythonSetup

PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
PYTEST_CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
# Names of extras, groups, tox/nox sessions and hatch environments that hold test needs.
_TEST_NAME = re.compile(r"^(tests?|testing|dev|develop|development|ci|check|unit)([-_].*)?$")
_REQUIREMENTS = re.compile(r"^(.*[-_])?requirements([-_.].*)?\.(txt|in)$", re.IGNORECASE)
_NON_TEST_REQUIREMENTS = re.compile(r"(doc|lint|typ|mypy|release|publish|bench)", re.IGNORECASE)
# Which environment variable makes each git-versioning tool take a given version.
PRETEND_VERSION_ENV = {
    "setuptools-scm": "SETUPTOOLS_SCM_PRETEND_VERSION",
    "hatch-vcs": "SETUPTOOLS_SCM_PRETEND_VERSION",
    "setuptools-git-versioning": "SETUPTOOLS_SCM_PRETEND_VERSION",
    "poetry-dynamic-versioning": "POETRY_DYNAMIC_VERSIONING_BYPASS",
    "pdm-backend": "PDM_BUILD_SCM_VERSION",
    "uv-dynamic-versioning": "UV_DYNAMIC_VERSIONING_BYPASS",
    "dunamai": "DUNAMAI_VERSION",
}
_VCS_REQUIRES = {
    "setuptools-scm": "setuptools-scm",
    "setuptools_scm": "setuptools-scm",
    "hatch-vcs": "hatch-vcs",
    "setuptools-git-versioning": "setuptools-git-versioning",
    "poetry-dynamic-versioning": "poetry-dynamic-versioning",
    "uv-dynamic-versioning": "uv-dynamic-versioning",
    "versioneer": "versioneer",
    "dunamai": "dunamai",
}


def requirement_files(root: Path) -> list[str]:
    """requirements*.txt at the root, in requirements/ and requirements-like test files."""
    found = [p.name for p in root.glob("*.txt") if _REQUIREMENTS.match(p.name) and p.is_file()]
    found += [p.name for p in root.glob("*requirements*.txt") if p.name not in found]
    for folder in ("requirements", "reqs", "requirements.d"):
        directory = root / folder
        if directory.is_dir():
            found += [f"{folder}/{p.name}" for p in directory.glob("*.txt") if p.is_file()]
    found = [name for name in found if not _NON_TEST_REQUIREMENTS.search(name)]
    # The main file first: test and dev files often include it with -r.
    return sorted(set(found), key=lambda name: (Path(name).stem != "requirements", name))


def python_setup(root: Path) -> tuple[PythonSetup, list[str]]:
    """The install recipe of the Python project at ``root``, and notes worth reporting."""
    notes: list[str] = []
    pyproject = read_toml(root / "pyproject.toml") or {}
    setup_cfg = read_ini(root / "setup.cfg")
    setup_py = read_text(root / "setup.py") or ""
    project = pyproject.get("project", {}) if isinstance(pyproject.get("project"), dict) else {}
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    build_system = pyproject.get("build-system", {}) or {}
    installable = bool(
        setup_py or (setup_cfg is not None and setup_cfg.has_section("metadata"))
        or build_system or project
    )  # fmt: skip
    build_requires = [str(r) for r in build_system.get("requires", []) if isinstance(r, str)]
    extras_available = set(project.get("optional-dependencies", {}) or {})
    if setup_cfg is not None and setup_cfg.has_section("options.extras_require"):
        extras_available |= set(setup_cfg.options("options.extras_require"))
    extras_available |= set(re.findall(r"['\"]([\w-]+)['\"]\s*:\s*\[", _extras_block(setup_py)))
    poetry = tool.get("poetry", {}) if isinstance(tool.get("poetry"), dict) else {}
    extras_available |= set(poetry.get("extras", {}) or {})
    extras = sorted(name for name in extras_available if _TEST_NAME.match(name.lower()))

    tox = read_ini(root / "tox.ini")
    tox_requirements, tox_extras, tox_groups, tox_files = _tox_needs(tox, pyproject)
    extras = sorted(set(extras) | {e for e in tox_extras if e in extras_available or not e})
    nox_requirements, nox_groups, nox_files = _nox_needs(read_text(root / "noxfile.py") or "")
    groups = pyproject.get("dependency-groups", {}) or {}
    wanted_groups = [name for name in groups if _TEST_NAME.match(name.lower())]
    wanted_groups += [
        g for g in [*tox_groups, *nox_groups] if g in groups and g not in wanted_groups
    ]
    group_requirements = [req for name in wanted_groups for req in _group(groups, name, set())]
    hatch_requirements, hatch_features = _hatch_needs(tool.get("hatch", {}))
    extras = sorted(set(extras) | {f for f in hatch_features if f in extras_available})
    poetry_requirements = _poetry_needs(poetry)
    if poetry_requirements:
        notes.append("poetry dev dependencies installed from their poetry constraints")
    files = requirement_files(root)
    files += [f for f in [*tox_files, *nox_files] if f not in files and (root / f).is_file()]
    vcs = _vcs_versioning(build_requires, tool, setup_py, setup_cfg, root)
    requires_python = project.get("requires-python")
    poetry_dependencies = poetry.get("dependencies")
    if requires_python is None and isinstance(poetry_dependencies, dict):
        requires_python = poetry_dependencies.get("python")
    if requires_python is None and setup_cfg is not None:
        requires_python = setup_cfg.get("options", "python_requires", fallback=None)
    if requires_python is None:
        match = re.search(r"python_requires\s*=\s*['\"]([^'\"]+)['\"]", setup_py)
        requires_python = match.group(1) if match else None
    setup = PythonSetup(
        installable=installable,
        build_requires=build_requires,
        extras=extras,
        requirement_files=files,
        group_requirements=_unique(
            [
                *group_requirements,
                *tox_requirements,
                *nox_requirements,
                *hatch_requirements,
                *poetry_requirements,
            ]
        ),
        requires_python=_poetry_to_pep440(str(requires_python)) if requires_python else None,
        supported_pythons=_supported_pythons(project, setup_cfg, setup_py, tox, root),
        lock_file=next((name for name in LOCK_FILES if (root / name).is_file()), None),
        vcs_versioning=vcs,
        pytest_config_file=pytest_config_file(
            {name: read_text(root / name) for name in PYTEST_CONFIG_FILES}
        ),
        builds_extensions=bool(_EXTENSIONS.search(setup_py)),
    )
    return setup, notes


# How a setup.py declares compiled modules (setuptools, Cython, pybind11).
_EXTENSIONS = re.compile(r"\b(ext_modules|Extension\(|cythonize\(|Pybind11Extension\()")


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            kept.append(item)
    return kept


def _extras_block(setup_py: str) -> str:
    match = re.search(r"extras_require\s*=\s*\{(.*?)\}\s*[,)]", setup_py, re.S)
    return match.group(1) if match else ""


def _group(groups: dict[str, Any], name: str, seen: set[str]) -> list[str]:
    """A dependency group's requirements, ``include-group`` entries expanded (PEP 735)."""
    if name in seen:
        return []
    seen.add(name)
    items = []
    for item in groups.get(name, []) or []:
        if isinstance(item, str):
            items.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            items += _group(groups, item["include-group"], seen)
    return items


def _tox_needs(
    tox: configparser.ConfigParser | None, pyproject: dict[str, Any]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(requirements, extras, dependency groups, -r files) of tox's test environments."""
    requirements: list[str] = []
    extras: list[str] = []
    groups: list[str] = []
    files: list[str] = []
    sections: list[dict[str, Any]] = []
    if tox is not None:
        for section in tox.sections():
            name = section.removeprefix("testenv").lstrip(":")
            if section.startswith("testenv") and (not name or _TEST_NAME.match(name) or
                                                  name.startswith(("py", "unit"))):  # fmt: skip
                sections.append(dict(tox.items(section)))
    native = pyproject.get("tool", {}).get("tox", {})
    if isinstance(native, dict):
        env = native.get("env_run_base") or native.get("testenv") or {}
        if isinstance(env, dict):
            sections.append(env)
    for section in sections:
        for line in _lines(section.get("deps")):
            if line.startswith("-r"):
                files.append(line[2:].strip().lstrip("=").strip())
            elif line.startswith("-c") or "{" in line or line.startswith("-"):
                continue
            elif _is_requirement(line):
                requirements.append(_strip_factor(line))
        extras += [_strip_factor(e) for e in _lines(section.get("extras"))]
        groups += [_strip_factor(g) for g in _lines(section.get("dependency_groups"))]
    return requirements, [e for e in extras if e], [g for g in groups if g], files


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [line.strip() for line in re.split(r"[\n,]", str(value)) if line.strip()]


def _strip_factor(line: str) -> str:
    """tox's factor conditions (``py38: pytest<7``) keep only the requirement."""
    return line.split(":", 1)[1].strip() if re.match(r"^[\w,!-]+:\s", line) else line


def _is_requirement(text: str) -> bool:
    try:
        Requirement(_strip_factor(text))
    except InvalidRequirement:
        return False
    return True


def _nox_needs(noxfile: str) -> tuple[list[str], list[str], list[str]]:
    """(requirements, dependency groups, -r files) installed by a noxfile's test sessions."""
    requirements: list[str] = []
    groups: list[str] = []
    files: list[str] = []
    try:
        tree = ast.parse(noxfile)
    except SyntaxError:
        return requirements, groups, files
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        if not (_TEST_NAME.match(function.name) or function.name.startswith(("test", "unit"))):
            continue
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", "")
            args = [
                a.value
                for a in call.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if name == "install":
                for index, arg in enumerate(args):
                    if arg in ("-r", "--requirement") and index + 1 < len(args):
                        files.append(args[index + 1])
                    elif arg in ("--group",) and index + 1 < len(args):
                        groups.append(args[index + 1])
                    elif not arg.startswith("-") and arg not in (".",) and _is_requirement(arg):
                        requirements.append(arg)
            elif name == "dependency_groups":
                groups += [arg for arg in args if not arg.endswith(".toml")]
    return requirements, groups, files


def _hatch_needs(hatch: Any) -> tuple[list[str], list[str]]:
    """(requirements, features) of hatch's default and test environments."""
    if not isinstance(hatch, dict):
        return [], []
    envs = hatch.get("envs", {}) if isinstance(hatch.get("envs"), dict) else {}
    requirements: list[str] = []
    features: list[str] = []
    for name, env in envs.items():
        if not isinstance(env, dict) or not (name == "default" or _TEST_NAME.match(name)):
            continue
        requirements += [str(r) for r in env.get("dependencies", []) if _is_requirement(str(r))]
        requirements += [
            str(r) for r in env.get("extra-dependencies", []) if _is_requirement(str(r))
        ]
        features += [str(f) for f in env.get("features", [])]
    return requirements, features


def _poetry_needs(poetry: dict[str, Any]) -> list[str]:
    """Poetry's dev/test groups as pip requirements (their version constraints translated)."""
    tables: list[dict[str, Any]] = []
    if isinstance(poetry.get("dev-dependencies"), dict):
        tables.append(poetry["dev-dependencies"])
    for name, group in (poetry.get("group", {}) or {}).items():
        if _TEST_NAME.match(name) and isinstance(group, dict):
            tables.append(group.get("dependencies", {}) or {})
    requirements = []
    for table in tables:
        for name, spec in table.items():
            if name.lower() == "python":
                continue
            version = spec.get("version") if isinstance(spec, dict) else spec
            if isinstance(spec, dict) and ("path" in spec or "git" in spec or "url" in spec):
                continue
            constraint = _poetry_to_pep440(str(version)) if version and version != "*" else ""
            requirements.append(f"{name}{constraint}" if constraint else name)
    return requirements


def _poetry_to_pep440(constraint: str) -> str:
    """Poetry's ``^1.2``/``~1.2``/``1.2.*`` forms as PEP 440 specifiers."""
    parts = []
    for item in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", constraint.strip()):
        item = item.strip()
        if not item:
            continue
        if item.startswith("^"):
            version = item[1:]
            numbers = [int(n) for n in re.findall(r"\d+", version)[:3]] or [0]
            first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
            upper = [*numbers[:first], numbers[first] + 1]
            parts += [f">={version}", f"<{'.'.join(map(str, upper))}"]
        elif item.startswith("~") and not item.startswith("~="):
            version = item[1:]
            numbers = [int(n) for n in re.findall(r"\d+", version)[:3]] or [0]
            upper = [numbers[0], numbers[1] + 1] if len(numbers) > 1 else [numbers[0] + 1]
            parts += [f">={version}", f"<{'.'.join(map(str, upper))}"]
        elif re.match(r"^\d", item):
            parts.append(f"=={item}")
        else:
            parts.append(item)
    return ",".join(parts)


def _vcs_versioning(
    build_requires: list[str],
    tool: dict[str, Any],
    setup_py: str,
    setup_cfg: configparser.ConfigParser | None,
    root: Path,
) -> list[str]:
    """The git-versioning tools the build uses (their pretend-version variables are set)."""
    found = set()
    for requirement in build_requires:
        name = re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].strip().lower()
        if name in _VCS_REQUIRES:
            found.add(_VCS_REQUIRES[name])
    if "setuptools_scm" in tool or "setuptools-scm" in tool:
        found.add("setuptools-scm")
    if "poetry-dynamic-versioning" in tool:
        found.add("poetry-dynamic-versioning")
    if "uv-dynamic-versioning" in tool:
        found.add("uv-dynamic-versioning")
    pdm = tool.get("pdm", {})
    pdm_version = pdm.get("version") if isinstance(pdm, dict) else None
    if isinstance(pdm_version, dict) and pdm_version.get("source") == "scm":
        found.add("pdm-backend")
    hatch = tool.get("hatch")
    hatch_version = hatch.get("version", {}) if isinstance(hatch, dict) else {}
    if isinstance(hatch_version, dict) and hatch_version.get("source") == "vcs":
        found.add("hatch-vcs")
    if "use_scm_version" in setup_py or "setuptools_scm" in setup_py:
        found.add("setuptools-scm")
    if "versioneer" in setup_py or (root / "versioneer.py").is_file():
        found.add("versioneer")
    if (
        setup_cfg is not None
        and setup_cfg.has_section("options")
        and "setuptools_scm" in (setup_cfg.get("options", "setup_requires", fallback=""))
    ):
        found.add("setuptools-scm")
    return sorted(found)


_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)\b")
_TOX_ENV = re.compile(r"\bpy3(\d{1,2})\b")
_CI_PYTHON = re.compile(r"['\"]?(3\.\d{1,2})['\"]?")


def _supported_pythons(
    project: dict[str, Any],
    setup_cfg: configparser.ConfigParser | None,
    setup_py: str,
    tox: configparser.ConfigParser | None,
    root: Path,
) -> list[str]:
    """Python versions the project says it supports: classifiers, tox envlist, CI matrix."""
    found: set[str] = set()
    classifiers = [str(c) for c in project.get("classifiers", []) or []]
    if setup_cfg is not None:
        classifiers += _lines(setup_cfg.get("metadata", "classifiers", fallback=""))
    classifiers.append(setup_py)
    for text in classifiers:
        found |= set(_CLASSIFIER.findall(text))
    if tox is not None and tox.has_section("tox"):
        envlist = tox.get("tox", "envlist", fallback="")
        found |= {f"3.{minor}" for minor in _TOX_ENV.findall(_expand_braces(envlist))}
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        for path in sorted(workflows.glob("*.y*ml"))[:20]:
            text = read_text(path) or ""
            for block in re.findall(r"python-version[s]?\s*:\s*(\[[^\]]*\]|.+)", text):
                found |= set(_CI_PYTHON.findall(block))
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")))


def _expand_braces(text: str) -> str:
    """tox's ``py{38,39,310}`` to ``py38 py39 py310``."""

    def expand(match: re.Match[str]) -> str:
        return " ".join(match.group(1) + item for item in match.group(2).split(","))

    return re.sub(r"(\w*)\{([^}]*)\}", expand, text)


def python_allowed(specifiers: str, version: tuple[int, int]) -> bool:
    """Does ``requires-python`` (e.g. ">=3.8,<4", "~=3.10") admit Python ``version``?

    Compared on major.minor (any patch release of an interpreter counts, so ``<3.11.4``
    admits 3.11); a specifier that does not parse admits it: the build tells the truth.
    """
    try:
        spec = SpecifierSet(specifiers)
    except InvalidSpecifier:
        return True
    for patch in (0, 99):
        if spec.contains(f"{version[0]}.{version[1]}.{patch}", prereleases=True):
            return True
    return False


def lock_constraints(root: Path, lock_file: str | None) -> list[str]:
    """``name==version`` for every package a lock file pins (uv, poetry, pdm, Pipfile)."""
    if lock_file is None:
        return []
    path = root / lock_file
    pins: dict[str, str] = {}
    if lock_file == "Pipfile.lock":
        data = read_json(path) or {}
        for section in ("default", "develop"):
            for name, entry in (data.get(section) or {}).items():
                version = str((entry or {}).get("version", ""))
                if version.startswith("=="):
                    pins[canonicalize_name(name)] = version[2:]
    else:
        data = read_toml(path) or {}
        for package in data.get("package", []) or []:
            if not isinstance(package, dict) or "version" not in package:
                continue
            source = package.get("source")
            if isinstance(source, dict) and ("editable" in source or "virtual" in source):
                continue  # the project itself, or a workspace member
            pins[canonicalize_name(str(package["name"]))] = str(package["version"])
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def pytest_config_file(texts: dict[str, str | None]) -> str | None:
    """Which file pytest takes its configuration from, by pytest's own precedence."""
    for name in PYTEST_CONFIG_FILES:
        if pytest_options_of(name, texts.get(name)) is not None:
            return name
    return None


def pytest_options(texts: dict[str, str | None]) -> dict[str, str | list[str]]:
    """The project's pytest options from the first config file that has them."""
    for name in PYTEST_CONFIG_FILES:
        options = pytest_options_of(name, texts.get(name))
        if options is not None:
            return options
    return {}


def pytest_options_of(name: str, text: str | None) -> dict[str, str | list[str]] | None:
    """Options of one config file; None when it holds no pytest section."""
    if text is None:
        return None
    if name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        tool = data.get("tool", {})
        table = tool.get("pytest", {}).get("ini_options")
        if table is None and isinstance(tool.get("pytest"), dict) and tool["pytest"]:
            table = {k: v for k, v in tool["pytest"].items() if not isinstance(v, dict)}
        if not isinstance(table, dict):
            return None
        return {key: _option_value(value) for key, value in table.items()}
    section = {"setup.cfg": "tool:pytest"}.get(name, "pytest")
    parser = parse_ini(text)
    if parser is None or not parser.has_section(section):
        # pytest.ini counts even without a [pytest] section: pytest stops looking there.
        return {} if name in ("pytest.ini", ".pytest.ini") else None
    return {key: value for key, value in parser.items(section)}


def _option_value(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def release_version(tag: str | None) -> str:
    """A PEP 440 version from a release tag (``v1.2.3``, ``pkg-1.2.3``, ``release/1.2``), for
    the pretend-version variables; ``0.0.0`` when there is no usable tag."""
    if tag:
        match = re.search(r"(\d+(?:\.\d+)*(?:[._-]?(?:a|b|rc|post|dev)\d*)?)$", tag)
        if match:
            try:
                return str(Version(match.group(1)))
            except InvalidVersion:
                pass
    return "0.0.0"


def pretend_version_env(tools: list[str], version: str) -> dict[str, str]:
    """The variables that make each git-versioning tool take ``version`` without git."""
    env = {PRETEND_VERSION_ENV[tool]: version for tool in tools if tool in PRETEND_VERSION_ENV}
    if env:
        # Tools read their own variable; setting the common one too costs nothing and
        # covers a hatch-vcs or setuptools-scm brought in by a plugin.
        env.setdefault("SETUPTOOLS_SCM_PRETEND_VERSION", version)
    return env


def declared_requirements(read: Callable[[str], str | None]) -> dict[str, str]:
    """The runtime requirements a project declares, by canonical name (pyproject's
    dependencies and optional dependencies, setup.cfg's install_requires and extras,
    requirements.txt, poetry dependencies). Extras count: a fix may use a package only when
    an extra is installed, and its tests skip without it."""
    found: dict[str, str] = {}

    def add(text: str) -> None:
        try:
            requirement = Requirement(text.split(";")[0].strip())
        except InvalidRequirement:
            return
        found[canonicalize_name(requirement.name)] = text.strip()

    pyproject_text = read("pyproject.toml")
    if pyproject_text:
        try:
            pyproject = tomllib.loads(pyproject_text)
        except tomllib.TOMLDecodeError:
            pyproject = {}
        project = pyproject.get("project", {})
        for item in project.get("dependencies", []) or []:
            add(str(item))
        for items in (project.get("optional-dependencies", {}) or {}).values():
            for item in items or []:
                add(str(item))
        poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}) or {}
        for name, spec in poetry.items():
            if name.lower() != "python":
                version = spec.get("version") if isinstance(spec, dict) else spec
                add(f"{name}{_poetry_to_pep440(str(version))}" if version and version != "*"
                    else name)  # fmt: skip
    setup_cfg = parse_ini(read("setup.cfg") or "")
    if setup_cfg is not None and setup_cfg.has_option("options", "install_requires"):
        for line in _lines(setup_cfg.get("options", "install_requires")):
            add(line)
    if setup_cfg is not None and setup_cfg.has_section("options.extras_require"):
        for _, value in setup_cfg.items("options.extras_require"):
            for line in _lines(value):
                add(line)
    for line in (read("requirements.txt") or "").splitlines():
        if line.strip() and not line.strip().startswith(("#", "-")):
            add(line)
    return found
