"""Put a repository, with its history and every ref, into a sandbox at a given commit."""

from __future__ import annotations

import shlex

from harness.errors import SandboxError
from harness.sandbox.records import Sandbox
from tools.repos.git import LocalRepo

_STAGING = "/kettle/repo.git"


def copy_repo(sandbox: Sandbox, repo: LocalRepo, commit: str, dest: str = "/repo") -> None:
    """A standalone repository in ``dest``, checked out (detached) at ``commit``, with every
    ref of ``repo``: branches, tags, remote-tracking branches and pull-request refs alike,
    so ``git log --all`` in the sandbox sees what the qualifier's search saw. (A plain
    ``git clone`` would keep only the default branch once its origin is removed.)"""
    sandbox.copy_in(repo.git_dir, _STAGING)
    target = shlex.quote(dest)
    script = (
        f"git init -q {target} && "
        f"git -C {target} fetch -q --update-head-ok --no-tags {_STAGING} '+refs/*:refs/*' && "
        f"git -C {target} -c advice.detachedHead=false checkout -q {shlex.quote(commit)} && "
        f"rm -rf {_STAGING}"
    )
    result = sandbox.exec(script, timeout_sec=600, user="0")
    if not result.ok:
        raise SandboxError(
            f"could not place the repository in the sandbox: {result.stderr.strip()}"
        )
