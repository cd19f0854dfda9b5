"""A headless Chromium, for checking that the HTML kettle writes renders in a real browser.

Debian's ``chromium`` package is installed with apt when no Chromium is on the machine
(``KETTLE_CHROMIUM`` names one explicitly). Pages are rendered with the flags below: no
sandbox (kettle often runs as root in a container), no GPU, no background network, and a
fresh profile per call, so nothing is remembered between checks.

    python -m harness.setup --browser        # install (if needed) and print the version
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import SetupError
from harness.machine.docker import Report, apt_install

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEBIAN_PACKAGE = "chromium"
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
_RENDER_TIMEOUT_SEC = 120


def find_chromium() -> Path | None:
    """KETTLE_CHROMIUM if it names a file, else the first Chromium on PATH, else None."""
    override = os.environ.get("KETTLE_CHROMIUM")
    if override:
        return Path(override) if Path(override).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def ensure_chromium(report: Report) -> Path:
    """A Chromium binary, installing Debian's package when there is none."""
    found = find_chromium()
    if found is not None:
        return found
    if os.environ.get("KETTLE_CHROMIUM"):
        raise SetupError(f"KETTLE_CHROMIUM={os.environ['KETTLE_CHROMIUM']} is not a file")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupError(
            "no Chromium on this machine, and kettle cannot install one (needs root and apt-get)",
            "install Chromium (`sudo apt-get install chromium`) or set KETTLE_CHROMIUM",
        )
    report(f"installing Chromium (apt-get install {DEBIAN_PACKAGE}) ...")
    apt_install(DEBIAN_PACKAGE)
    found = find_chromium()
    if found is None:
        raise SetupError(f"apt-get installed {DEBIAN_PACKAGE} but no chromium is on PATH")
    return found


def chromium_version(binary: Path) -> str:
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return (result.stdout or result.stderr).strip() or "unknown"


def dump_dom(binary: Path, page: Path, *, wait_ms: int = 2000) -> str:
    """The page's DOM after its scripts ran, as headless Chromium serializes it."""
    with tempfile.TemporaryDirectory(prefix="kettle-chromium-") as profile:
        command = [
            str(binary),
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={wait_ms}",
            "--dump-dom",
            page.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_RENDER_TIMEOUT_SEC, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise SetupError(f"Chromium did not render {page} in {_RENDER_TIMEOUT_SEC}s") from error
    if result.returncode != 0 or not result.stdout.strip():
        lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        raise SetupError(f"Chromium could not render {page}: {lines[-1]}")
    return result.stdout
