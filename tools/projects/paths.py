"""What kind of file a repo path is: source code, tests, docs, build/CI, or something else.

Qualification asks "did the fix change code a test could exercise?" and "did the session
only touch docs?", so the kinds are about testability, not about languages.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

PathKind = Literal["source", "test", "docs", "build", "other"]

_SOURCE_SUFFIXES_TEXT = (
    ".py .pyx .pyi .js .mjs .cjs .jsx .ts .tsx .mts .cts .vue .svelte .go .rs .java .kt .kts "
    ".scala .groovy .c .h .cc .cpp .cxx .hh .hpp .hxx .m .mm .cs .fs .vb .swift .rb .php .pl "
    ".pm .lua .ex .exs .erl .hrl .hs .ml .mli .clj .cljs .dart .r .jl .zig .nim .sh .bash "
    ".zsh .ps1 .sql .elm .cr .d .f90 .v .sv .vhd .sol"
)
SOURCE_SUFFIXES = frozenset(_SOURCE_SUFFIXES_TEXT.split())
_DOC_SUFFIXES_TEXT = ".md .markdown .rst .txt .adoc .asciidoc .org .tex .rdoc .pod"
DOC_SUFFIXES = frozenset(_DOC_SUFFIXES_TEXT.split())
_BUILD_SUFFIXES_TEXT = ".toml .cfg .ini .lock .yml .yaml .gradle .cmake .mk .nix"
BUILD_SUFFIXES = frozenset(_BUILD_SUFFIXES_TEXT.split())
_BUILD_NAMES_TEXT = (
    "makefile gnumakefile dockerfile containerfile jenkinsfile vagrantfile justfile "
    "package.json package-lock.json yarn.lock pnpm-lock.yaml tsconfig.json go.mod go.sum "
    "cargo.toml cargo.lock setup.py setup.cfg pyproject.toml requirements.txt tox.ini "
    "noxfile.py pom.xml build.gradle build.sbt gemfile gemfile.lock composer.json "
    "composer.lock cmakelists.txt meson.build .gitignore .gitattributes .editorconfig "
    ".pre-commit-config.yaml .dockerignore .npmignore .eslintrc .prettierrc"
)
BUILD_NAMES = frozenset(_BUILD_NAMES_TEXT.split())
_DOC_NAMES_TEXT = (
    "readme changelog changes history news authors contributors contributing license "
    "licence copying notice code_of_conduct security maintainers todo"
)
DOC_NAMES = frozenset(_DOC_NAMES_TEXT.split())
_TEST_DIRS_TEXT = (
    "test tests __tests__ __test__ spec specs testing testdata test_data fixtures "
    "__snapshots__ __mocks__ e2e"
)
TEST_DIRS = frozenset(_TEST_DIRS_TEXT.split())
_DOC_DIRS_TEXT = "doc docs documentation man examples"
DOC_DIRS = frozenset(_DOC_DIRS_TEXT.split())
_BUILD_DIRS_TEXT = ".github .gitlab .circleci .buildkite .devcontainer ci"
BUILD_DIRS = frozenset(_BUILD_DIRS_TEXT.split())

_TEST_FILE = re.compile(
    r"(^test_.*\.py$)|(_test\.(py|go|rb|exs|cc|cpp|c|rs)$)|(\.(test|spec)\.[cm]?[jt]sx?$)"
    r"|(_spec\.rb$)|(^conftest\.py$)|(Tests?\.(java|kt|cs|swift|scala|php)$)|(^test\.[a-z]+$)"
)


def classify_path(path: str) -> PathKind:
    """The kind of ``path`` (repo-relative, POSIX separators)."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name
    lower = name.lower()
    dirs = {part.lower() for part in pure.parts[:-1]}
    suffix = pure.suffix.lower()
    if dirs & TEST_DIRS or _TEST_FILE.search(name):
        return "test"
    if dirs & BUILD_DIRS or lower in BUILD_NAMES:
        return "build"
    if dirs & DOC_DIRS:
        return "docs"  # docs/conf.py and examples/ code are not the product under test
    if suffix in SOURCE_SUFFIXES:
        return "source"
    if suffix in DOC_SUFFIXES or pure.stem.lower() in DOC_NAMES:
        return "docs"
    if suffix in BUILD_SUFFIXES or lower.startswith("dockerfile"):
        return "build"
    return "other"


def is_source(path: str) -> bool:
    return classify_path(path) == "source"
