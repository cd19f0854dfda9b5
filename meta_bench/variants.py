"""Applying hidden solutions: the upstream fix and the variants, as a solver or on the host.

In a trial a patch is applied by ``patch_solver``: a script with the patch embedded
(base64, so any byte survives), applied at the environment's workdir with ``git apply``
or, when the image has no git, ``patch -p1``, the way a solving agent's edit would land.
It runs in containers the scorer starts from a builder's image, never in a builder's own.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from harness.runner.solvers import CommandSolver
from meta_bench.records import VariantSpec

_PATCH_FILE = "/tmp/.kettle-hidden.patch"

_APPLY = """set -u
cd {workdir} || {{ echo "no folder {workdir} in the environment"; exit 1; }}
base64 -d > {patch} <<'KETTLE_B64'
{encoded}KETTLE_B64
if command -v git >/dev/null && git apply --check {patch} 2>/dev/null; then
    git apply --whitespace=nowarn {patch}; status=$?
elif command -v patch >/dev/null && patch -p1 -f -s --dry-run < {patch} >/dev/null 2>&1; then
    patch -p1 -f -s < {patch}; status=$?
else
    echo "the patch does not apply in {workdir}:"
    command -v git >/dev/null && git apply --check -v {patch} 2>&1 | tail -n 5
    status=1
fi
rm -f {patch}
[ "$status" = 0 ] && echo "applied the patch in {workdir}"
exit "$status"
"""


def apply_script(patch: str, workdir: str) -> str:
    """A bash script that applies ``patch`` (repo-root relative) in ``workdir``."""
    encoded = base64.encodebytes(patch.encode("utf-8")).decode("ascii")
    return _APPLY.format(workdir=shlex.quote(workdir), patch=_PATCH_FILE, encoded=encoded)


def patch_solver(name: str, patch: str, workdir: str) -> CommandSolver:
    return CommandSolver(name, apply_script(patch, workdir))


def variant_label(spec: VariantSpec) -> str:
    return f"{spec.kind}-{spec.name}"


def applies_on_host(repo_git_dir: Path, start_commit: str, patch: str) -> tuple[bool, str]:
    """Does ``patch`` apply to the start commit's tree? (checked in a throwaway index)"""
    from tools.repos.patches import applies_to

    return applies_to(repo_git_dir, start_commit, patch.encode("utf-8"))


def tree_with_patch(repo_git_dir: Path, start_commit: str, patch: str, dest: Path) -> None:
    """Write the start tree with ``patch`` applied into ``dest`` (for mutation drafting)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kettle-tree-") as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        base = ["git", f"--git-dir={repo_git_dir}", f"--work-tree={dest}"]
        for args in (["read-tree", start_commit], ["checkout-index", "--all", "--force"]):
            subprocess.run([*base, *args], env=env, check=True, capture_output=True)
    if patch:
        subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            cwd=dest,
            input=patch.encode("utf-8"),
            check=True,
            capture_output=True,
        )
