"""Make sure a Docker engine answers: install it if absent, start it if stopped.

A fresh machine has the docker client at most; kettle installs Debian's ``docker.io`` and
starts ``dockerd`` in the background (its log goes to KETTLE_HOME/dockerd.log).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import DockerUnavailableError, SetupError
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings

Report = Callable[[str], None]


def ensure_docker(settings: Settings, report: Report) -> DockerEngine:
    """Return a connected engine, installing and starting Docker when needed."""
    try:
        return DockerEngine.connect()
    except DockerUnavailableError:
        if os.environ.get("DOCKER_HOST"):
            raise  # a remote or custom engine is the user's to start
    if shutil.which("dockerd") is None:
        _install_docker_engine(report)
    _start_dockerd(settings, report)
    return _wait_for_engine(settings)


def _install_docker_engine(report: Report) -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "the Docker engine (dockerd) is not installed and kettle is not running as root",
            "install Docker (e.g. `sudo apt-get install docker.io`) and start it, then rerun",
        )
    if shutil.which("apt-get") is None:
        raise SetupError(
            "the Docker engine is not installed and this machine has no apt-get",
            "install Docker with your system's package manager, start it, then rerun",
        )
    report("installing the Docker engine (apt-get install docker.io) ...")
    apt_install("docker.io")


def apt_install(*packages: str) -> None:
    """Install Debian packages non-interactively; a failure names the command and its error."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["?"]
            raise SetupError(f"`{' '.join(command)}` failed: {tail[0]}")


def _start_dockerd(settings: Settings, report: Report) -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "the Docker engine is installed but not running, and kettle is not root",
            "start it (`sudo systemctl start docker` or `sudo dockerd &`), then rerun",
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    log_path = settings.home / "dockerd.log"
    report(f"starting dockerd in the background (log: {log_path}) ...")
    with log_path.open("ab") as log:
        # A new session: the daemon outlives this process and is not hit by its Ctrl-C.
        subprocess.Popen(
            ["dockerd"],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _wait_for_engine(settings: Settings) -> DockerEngine:
    deadline = time.monotonic() + settings.docker_start_timeout_sec
    while True:
        try:
            return DockerEngine.connect()
        except DockerUnavailableError:
            if time.monotonic() > deadline:
                log_path = settings.home / "dockerd.log"
                last = _last_line(log_path)
                raise SetupError(
                    f"dockerd did not answer within {settings.docker_start_timeout_sec:.0f}s "
                    f"(last log line: {last})",
                    f"read {log_path}; another dockerd may hold /var/run/docker.pid",
                ) from None
            time.sleep(0.5)


def _last_line(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "no log"
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else "empty log"
