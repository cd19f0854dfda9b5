"""Hidden assets never reach a builder: no variant, no variants.toml, no exploit battery in
any container a builder starts, in the task it writes, in its image, or in the repository it
is handed. Every container the builders start goes through an engine that searches the
files the container changed for the hidden variants' distinctive lines before it is removed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from meta_bench.builders import BuildJob, make_builder
from meta_bench.materialize import SEEDS_DIR, materialize
from meta_bench.records import MaterializedSeed
from meta_bench.seed_format import HIDDEN_DIR, load_seed, load_variants
from tools.validation.diffs import added_lines, is_distinctive, parse_unified_diff

SEED_DIR = SEEDS_DIR / "timebox-compound-durations"
_PATTERNS = "/tmp/.kettle-hidden-patterns"
_PATHS = "/tmp/.kettle-hidden-paths"


class ScanningEngine(DockerEngine):
    """A Docker engine that, before removing a container, greps what the container changed."""

    patterns: list[str]
    findings: list[str]
    scanned: list[str]

    def forget(self, sandbox: DockerSandbox) -> None:
        if sandbox.state().running:
            self._scan(sandbox)
        super().forget(sandbox)

    def _scan(self, sandbox: DockerSandbox) -> None:
        changed = [p for p, kind in sandbox.diff() if kind != "deleted"]
        changed = [p for p in changed if not p.startswith(("/proc", "/sys", "/dev", _PATTERNS))]
        self.scanned.append(f"{sandbox.spec.role} ({len(changed)} changed paths)")
        if not changed:
            return
        sandbox.write_file(_PATTERNS, "\n".join(self.patterns) + "\n")
        sandbox.write_file(_PATHS, "\0".join(changed) + "\0")
        found = sandbox.exec(
            f"xargs -0 -a {_PATHS} grep -lsIF -f {_PATTERNS} -- 2>/dev/null | "
            f"grep -v -e '^{_PATTERNS}$' -e '^{_PATHS}$'",
            user="0",
            timeout_sec=600,
        )
        self.findings += [f"{sandbox.spec.role}: {line}" for line in found.stdout.split()]


def hidden_lines(materialized: MaterializedSeed) -> list[str]:
    """Distinctive lines the variants add that neither the repository nor the fix has."""
    visible = materialized.full_diff
    for rev in (materialized.start_commit, materialized.fix_commit, "HEAD"):
        visible += subprocess.run(
            ["git", "-C", materialized.repo, "grep", "-h", "-I", "-e", "", rev],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
    lines = set()
    for _spec, patch in load_variants(SEED_DIR):
        for change in parse_unified_diff(patch):
            lines |= {
                line.strip()
                for line in added_lines(change)
                if is_distinctive(line) and len(line.strip()) >= 25  # no generic code lines
            }
    return sorted(line for line in lines if line not in visible)


@pytest.fixture()
def scanning_engine() -> ScanningEngine:
    engine = ScanningEngine.connect()
    engine.findings, engine.scanned = [], []
    yield engine  # type: ignore[misc]
    engine.close()


def test_the_scanner_finds_a_planted_variant_line(
    scanning_engine: ScanningEngine, base_image: str, test_run_id: str
) -> None:
    materialized = materialize(load_seed(SEED_DIR), Settings.from_env())
    scanning_engine.patterns = hidden_lines(materialized)
    spec = SandboxSpec(image=base_image, run_id=test_run_id, role="planted", network="none")
    with scanning_engine.start(spec) as box:
        box.write_file("/work/copy.py", f"x = 1\n{scanning_engine.patterns[0]}\n")
    assert scanning_engine.findings == ["planted: /work/copy.py"]


@pytest.mark.slow
def test_hidden_assets_never_reach_a_builder(
    tmp_path: Path, scanning_engine: ScanningEngine, docker_engine: DockerEngine, test_run_id: str
) -> None:
    # A fresh kettle home: the reference is built here, in a scanned container, not reused.
    settings = Settings.from_env().model_copy(update={"home": tmp_path / "home"})
    seed = load_seed(SEED_DIR)
    materialized = materialize(seed, settings)
    patterns = hidden_lines(materialized)
    assert len(patterns) >= 5  # every variant leaves something recognisable
    scanning_engine.patterns = patterns
    hidden = SEED_DIR / HIDDEN_DIR
    assert not Path(materialized.builder_repo).resolve().is_relative_to(SEED_DIR.resolve())
    for name in ("baseline", "reference", "null", "cal-overprescriptive"):
        outcome = make_builder(name).build(
            BuildJob(seed, materialized, tmp_path / name, scanning_engine, settings, test_run_id)
        )
        assert outcome.task_dir, outcome.message
        task = HarborTask.load(outcome.task_dir)
        for path in (tmp_path / name).rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                text = path.read_text(encoding="utf-8", errors="replace")
                assert not [p for p in patterns if p in text], path
                assert "variants.toml" not in text and str(hidden) not in text, path
        image = TaskImages(docker_engine, settings).ensure(task, tmp_path / f"{name}-build.log")
        spec = SandboxSpec(image=image, run_id=test_run_id, role="image-scan", network="none")
        with docker_engine.start(spec) as box:
            box.write_file(_PATTERNS, "\n".join(patterns) + "\n")
            found = box.exec(
                f"grep -rlsIF -f {_PATTERNS} --exclude-dir=proc --exclude-dir=sys "
                f"--exclude-dir=dev / | grep -v '^{_PATTERNS}$'",
                user="0",
                timeout_sec=600,
            )
        assert found.stdout.strip() == "", f"{name}'s image holds hidden lines"
    assert scanning_engine.findings == []
    assert sum("reconstruct" in s for s in scanning_engine.scanned) >= 2, scanning_engine.scanned
    objects = subprocess.run(
        f"git -C {materialized.builder_repo} rev-list --all --objects | cut -d' ' -f1 | "
        f"git -C {materialized.builder_repo} cat-file --batch",
        shell=True, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert not [p for p in patterns if p.encode() in objects]
