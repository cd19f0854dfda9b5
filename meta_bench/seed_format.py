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

from harness.errors import ConfigError
from meta_bench.records import Seed, VariantsFile, VariantSpec

SEED_FILE = "seed.toml"
HIDDEN_DIR = "hidden"
VARIANTS_FILE = "variants.toml"


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
