"""The seed format of kettle's meta-benchmark.

A seed is one piece of real work a builder turns into an environment, plus hidden assets
the scorer uses to judge that environment. On disk::

    meta_bench/seeds/<seed-id>/seed.toml       the Seed record below (visible to builders)
    meta_bench/seeds/<seed-id>/hidden/         never copied into any builder's sandbox
        variants.toml                          a VariantSpec per patch below
        correct/<name>.patch                   other valid fixes (different algorithm,
                                               layout, names), relative to the repo root
        wrong/<name>.patch                     partial fixes, special-casing, mutants

Only metadata and the team's own variant patches live in the repository. The project
code, the upstream fix and the upstream tests are materialized at run time: from a public
git repository, from two PyPI sdists (or npm tarballs) of consecutive releases, or from a
team-written example project.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from harness.errors import ConfigError

SEED_FILE = "seed.toml"
HIDDEN_DIR = "hidden"
VARIANTS_FILE = "variants.toml"


class RepoSource(BaseModel):
    """Where the project comes from."""

    kind: Literal["git", "pypi", "npm", "example"]
    url: str | None = Field(None, description="git: clone URL")
    package: str | None = Field(None, description="pypi/npm: the package name")
    start_version: str | None = Field(None, description="pypi/npm: the release with the bug")
    fix_version: str | None = Field(None, description="pypi/npm: the release with the fix")
    fix_paths: list[str] = Field(
        default_factory=list,
        description="pypi/npm: files (source and tests) taken from fix_version to form the "
        "upstream fix commit; every other file stays as in start_version",
    )
    example: str | None = Field(None, description="example: a folder name in examples/projects")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> RepoSource:
        needed = {
            "git": ["url"],
            "pypi": ["package", "start_version", "fix_version", "fix_paths"],
            "npm": ["package", "start_version", "fix_version", "fix_paths"],
            "example": ["example"],
        }[self.kind]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"source kind {self.kind!r} needs {', '.join(missing)}")
        return self


class Intent(BaseModel):
    """What the user asked, as a session would carry it."""

    first_prompt: str
    follow_ups: list[str] = Field(default_factory=list)


class Seed(BaseModel):
    schema_version: int = 1
    id: str
    title: str
    language: str
    license: str = Field(description="SPDX id of the project")
    source: RepoSource
    start_ref: str = Field(
        "start",
        description="git: commit/ref of the start state; example: the commit folder of its "
        "history (e.g. '05-since-option'); pypi/npm: 'start'",
    )
    fix_ref: str = Field(
        "fix",
        description="git: the upstream fix commit; example: its commit folder; pypi/npm: 'fix'",
    )
    intent: Intent
    visibility: Literal["factory", "intent_only"] = Field(
        "factory",
        description="factory: builders get the repository with the fix commit in its history, "
        "as the factory does for a real session; intent_only: history ends at the start",
    )
    upstream_test_paths: list[str] = Field(
        default_factory=list, description="Test files of the upstream fix (repo-relative)"
    )


class VariantSpec(BaseModel):
    name: str = Field(description="File stem of the patch in correct/ or wrong/")
    kind: Literal["correct", "wrong"]
    description: str
    technique: str = Field(
        description="correct: different_algorithm | different_layout | different_names | ...; "
        "wrong: partial_fix | special_case | mutant_flip_condition | mutant_off_by_one | "
        "mutant_drop_branch | mutant_revert_hunk | ..."
    )


class VariantsFile(BaseModel):
    variants: list[VariantSpec]


def load_seed(seed_dir: Path) -> Seed:
    path = seed_dir / SEED_FILE
    try:
        return Seed.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no seed file") from error
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise ConfigError(f"{path}: not a valid seed ({str(error).splitlines()[0]})") from error


def load_variants(seed_dir: Path) -> list[tuple[VariantSpec, str]]:
    """Every hidden variant with its patch text (for the scorer only)."""
    hidden = seed_dir / HIDDEN_DIR
    path = hidden / VARIANTS_FILE
    try:
        specs = VariantsFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no variants file") from error
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise ConfigError(f"{path}: invalid ({str(error).splitlines()[0]})") from error
    variants = []
    for spec in specs.variants:
        patch = hidden / spec.kind / f"{spec.name}.patch"
        if not patch.is_file():
            raise ConfigError(f"{patch}: named in {VARIANTS_FILE} but missing")
        variants.append((spec, patch.read_text(encoding="utf-8")))
    return variants
