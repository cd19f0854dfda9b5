"""What the meta-benchmark computes once and reuses: trials of identical environments.

A trial's outcome depends only on the environment's image, the verifier's files, the task's
runtime settings, what the solver does, and kettle's runner. Builders often produce the
same environment (the baseline and the reference build the same image and the same
upstream-test verifier on most seeds; ``cal-leaky`` differs from the reference only in its
instruction, which no trial reads), and ``seed check`` judges the very reference and ideal
environments a run scores again. So a finished trial is stored under a key made of all of
those, and the n-th run of the same state in an identical environment is copied instead
of run again. Distinct reruns (n = 1, 2, ...) have distinct keys, so flakiness is still
seen; a trial that errored is never stored. ``KETTLE_META_FRESH_TRIALS=1`` bypasses the
cache (every trial runs).

Layout: ``$KETTLE_HOME/meta_bench/trials/<key[:2]>/<key>/`` holds the trial's folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from harness.fsio import read_model
from harness.runner.records import TrialResult
from harness.task.folder import HarborTask

_ROOT = Path(__file__).resolve().parent.parent
_MACHINERY = ("agents", "tools", "harness", "prompts")
FRESH_ENV = "KETTLE_META_FRESH_TRIALS"


@cache
def machinery_digest(*meta_bench_files: str) -> str:
    """A hash of kettle's factory and runner code (agents, tools, harness, prompts) and of
    the named meta_bench files: a changed checkout builds and judges afresh."""
    digest = hashlib.sha256()
    for folder in _MACHINERY:
        for path in sorted((_ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".md", ".j2", ".toml", ".txt", ".sh"):
                digest.update(path.relative_to(_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    for name in meta_bench_files:
        digest.update(name.encode() + (_ROOT / "meta_bench" / name).read_bytes())
    return digest.hexdigest()


# What a trial runs beyond the environment: the runner, and the patch solver's script.
TRIAL_CODE = ("variants.py",)
# What the reference build runs: the factory's policies on the reference repository.
BUILD_CODE = ("builders.py", "materialize.py")


def environment_digest(task: HarborTask, image: str) -> str:
    """The image (its content-hash tag), the verifier's files and the runtime settings."""
    digest = hashlib.sha256(image.rpartition(":")[2].encode())
    config = task.config
    for part in (config.verifier, config.agent, config.environment):
        digest.update(part.model_dump_json().encode())
    digest.update(str(config.agent_internet).encode())
    tests = task.tests_dir
    for path in sorted(tests.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(tests).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


class TrialCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.enabled = os.environ.get(FRESH_ENV, "") not in ("1", "true", "yes")
        self.hits = 0

    def key(self, environment: str, solver: str, number: int) -> str:
        text = f"{machinery_digest(*TRIAL_CODE)}\n{environment}\n{number}\n{solver}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, trial_dir: Path) -> TrialResult | None:
        """Copy a stored trial into ``trial_dir``; its result, or None when not stored."""
        stored = self._folder(key)
        if not self.enabled or not (stored / "result.json").is_file():
            return None
        shutil.rmtree(trial_dir, ignore_errors=True)
        shutil.copytree(stored, trial_dir, symlinks=True)
        result = read_model(trial_dir / "result.json", TrialResult)
        self.hits += 1
        notes = [*result.notes, "meta-bench: reused from an identical environment's trial"]
        return result.model_copy(update={"trial_id": trial_dir.name, "notes": notes})

    def put(self, key: str, trial_dir: Path, result: TrialResult) -> None:
        if not self.enabled or result.error is not None or result.reward is None:
            return
        target = self._folder(key)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".put-"))
        try:
            shutil.copytree(trial_dir, scratch / "trial", symlinks=True)
            os.replace(scratch / "trial", target)
        except OSError:
            pass  # a concurrent put won, or the disk is full: the cache is only a shortcut
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
