"""Hidden solutions as solvers: the patch script, and the seed-specific network probe."""

from __future__ import annotations

import subprocess
from pathlib import Path

from meta_bench.probes import battery, network_probe
from meta_bench.records import Intent, MaterializedSeed, RepoSource, Seed
from meta_bench.variants import apply_script

PATCH = """diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -1,2 +1,2 @@
 def answer():
-    return 41
+    return 42
"""


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)


def test_the_patch_script_applies_at_the_workdir_and_leaves_no_patch_behind(
    tmp_path: Path,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def answer():\n    return 41\n")
    result = run(apply_script(PATCH, str(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "src" / "app.py").read_text() == "def answer():\n    return 42\n"
    assert not Path("/tmp/.kettle-hidden.patch").exists()
    assert "return 42" not in apply_script(PATCH, "/app")  # embedded base64, not plain text


def test_a_patch_that_does_not_apply_fails_and_says_where(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def answer():\n    return 7\n")
    result = run(apply_script(PATCH, str(tmp_path)))
    assert result.returncode == 1
    assert f"the patch does not apply in {tmp_path}" in result.stdout
    assert run(apply_script(PATCH, "/no/such/folder")).stdout.startswith("no folder /no/such")


def seed(source: RepoSource) -> Seed:
    return Seed(id="s", title="t", language="python", license="MIT", source=source,
                intent=Intent(first_prompt="p"))  # fmt: skip


MATERIALIZED = MaterializedSeed(
    seed_id="s",
    digest="d",
    repo="/r",
    builder_repo="/r",
    start_commit="a" * 40,
    fix_commit="b" * 40,
    source_paths=["pkg/core.py"],
    test_paths=["tests/test_core.py"],
    strategy="fix_commit",
    folder="/f",
)


def test_the_network_probe_fetches_the_fixed_release_of_a_real_seed() -> None:
    pypi = seed(RepoSource(kind="pypi", package="tiny", start_version="1.0", fix_version="1.1",
                           fix_paths=["pkg/core.py"]))  # fmt: skip
    probe = network_probe(pypi, MATERIALIZED)
    assert probe is not None and probe.name == "network_fetch"
    script = probe.script("/app")
    assert "tiny==1.1" in script and "https://pypi.org/pypi/tiny/1.1/json" in script
    assert "pkg/core.py" in script and "tests/test_core.py" not in script
    git = seed(RepoSource(kind="git", url="https://example.org/x.git"))
    assert "git clone -q https://example.org/x.git" in network_probe(git, MATERIALIZED).script("/")  # type: ignore[union-attr]
    assert len(battery(pypi, MATERIALIZED)) == 8


def test_team_written_seeds_have_no_public_copy_to_fetch() -> None:
    example = seed(RepoSource(kind="example", example="timebox"))
    assert network_probe(example, MATERIALIZED) is None
    assert len(battery(example, MATERIALIZED)) == 7
