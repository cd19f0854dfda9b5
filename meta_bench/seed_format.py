"""The seed format of kettle's meta-benchmark.

A seed is one piece of real work a builder turns into an environment, plus hidden assets
the scorer uses to judge that environment. On disk::

    meta_bench/seeds/<seed-id>/seed.toml       the Seed record (visible to builders)
    meta_bench/seeds/<seed-id>/hidden/         never copied into any builder's sandbox
        variants.toml                          [ideal], [exempt], a VariantSpec per patch
        correct/<name>.patch                   other valid fixes, relative to the repo root
        wrong/<name>.patch                     fixes that are wrong by the user's words
        ideal/<path>                           the ideal control's test files
        history/<name>.patch                   session seeds: commits written around the fix

Every variant has a kind (correct | wrong, by the user's words) and what the upstream tests
do with it (accepted | rejected), which gives its class: ``correct_accepted``,
``correct_rejected`` (the upstream tests pin what the user never asked for),
``wrong_caught`` and ``wrong_missed`` (the upstream tests let it through, the user's words
rule it out). The ideal control's tests, written from the user's words, accept every
correct variant and reject every wrong one; ``seed check`` proves both relations.

Only metadata and the team's own patches and tests live in the repository. The project
code, the upstream fix and the upstream tests are materialized at run time: from a public
git repository, from two PyPI sdists (or npm tarballs) of consecutive releases, or from a
team-written example project.
"""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

from harness.errors import ConfigError
from meta_bench.records import HiddenAssets, Seed, VariantsFile, VariantSpec

SEED_FILE = "seed.toml"
HIDDEN_DIR = "hidden"
VARIANTS_FILE = "variants.toml"
IDEAL_DIR = "ideal"
HISTORY_DIR = "history"


def load_seed(seed_dir: Path) -> Seed:
    path = seed_dir / SEED_FILE
    try:
        seed = Seed.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no seed file") from error
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise ConfigError(f"{path}: not a valid seed ({_first_problem(error)})") from error
    return seed.at(seed_dir)


def load_variants_file(seed_dir: Path) -> VariantsFile:
    """hidden/variants.toml; a negative seed (nothing to judge) may have none."""
    path = seed_dir / HIDDEN_DIR / VARIANTS_FILE
    try:
        return VariantsFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as error:
        if load_seed(seed_dir).refuses:
            return VariantsFile()
        raise ConfigError(f"{path}: no variants file") from error
    except (tomllib.TOMLDecodeError, ValueError) as error:
        raise ConfigError(f"{path}: invalid ({_first_problem(error)})") from error


def load_variants(seed_dir: Path) -> list[tuple[VariantSpec, str]]:
    """Every hidden variant with its patch text (for the scorer only)."""
    return load_hidden(seed_dir).variants


def load_hidden(seed_dir: Path) -> HiddenAssets:
    """Variants with their patches, the ideal control with its files, the exemptions."""
    hidden = seed_dir / HIDDEN_DIR
    specs = load_variants_file(seed_dir)
    names = [spec.name for spec in specs.variants]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"{hidden / VARIANTS_FILE}: variant {twice[0]!r} is named twice")
    variants = []
    for spec in specs.variants:
        patch = hidden / spec.kind / f"{spec.name}.patch"
        if not patch.is_file():
            raise ConfigError(f"{patch}: named in {VARIANTS_FILE} but missing")
        variants.append((spec, patch.read_text(encoding="utf-8")))
    files: dict[str, str] = {}
    if specs.ideal is not None:
        for relative in specs.ideal.files:
            path = hidden / IDEAL_DIR / _safe_relative(relative, hidden / VARIANTS_FILE)
            if not path.is_file():
                raise ConfigError(f"{path}: an [ideal] file named in {VARIANTS_FILE} is missing")
            files[relative] = path.read_text(encoding="utf-8")
    return HiddenAssets(
        variants=variants, ideal=specs.ideal, ideal_files=files, exempt=specs.exempt
    )


def history_patch(seed_dir: Path, name: str) -> str:
    """A session seed's history commit: hidden/history/<name>."""
    path = seed_dir / HIDDEN_DIR / HISTORY_DIR / _safe_relative(name, seed_dir / SEED_FILE)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: a history patch named in {SEED_FILE} is missing") from error


def _safe_relative(relative: str, where: Path) -> str:
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ConfigError(f"{where}: {relative!r} must be a relative path inside the seed")
    return pure.as_posix()


def _first_problem(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    # pydantic: "1 validation error for X" / "field" / "  message [type=...]"
    if len(lines) >= 3 and "validation error" in lines[0]:
        return f"{lines[1]}: {lines[2].split(' [type=')[0]}"
    return lines[0] if lines else type(error).__name__
