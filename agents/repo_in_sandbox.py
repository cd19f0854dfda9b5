"""Put a repository, with its history, into a sandbox at a given commit."""

from __future__ import annotations

import shlex

from harness.errors import SandboxError
from harness.sandbox.records import Sandbox
from tools.repos.git import LocalRepo

_STAGING = "/kettle/repo.git"


def copy_repo(sandbox: Sandbox, repo: LocalRepo, commit: str, dest: str = "/repo") -> None:
    """A standalone clone of ``repo`` at ``commit`` in ``dest`` (later commits stay reachable)."""
    sandbox.copy_in(repo.git_dir, _STAGING)
    target = shlex.quote(dest)
    script = (
        f"git clone -q {_STAGING} {target} && "
        f"git -C {target} -c advice.detachedHead=false checkout -q {shlex.quote(commit)} && "
        f"git -C {target} remote remove origin && rm -rf {_STAGING}"
    )
    result = sandbox.exec(script, timeout_sec=600, user="0")
    if not result.ok:
        raise SandboxError(
            f"could not place the repository in the sandbox: {result.stderr.strip()}"
        )
