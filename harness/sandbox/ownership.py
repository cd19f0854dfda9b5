"""Who made a container or image, and whether its owner still lives.

Everything kettle creates carries labels naming kettle, the run, the role and the owning
process (``host:pid:start-time``), so a later run — or ``python -m harness.gc`` — can tell
what a crashed run left behind from what a live one is still using.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

LABEL = "org.kettle"
LABEL_RUN = "org.kettle.run"
LABEL_ROLE = "org.kettle.role"
LABEL_OWNER = "org.kettle.owner"
LABEL_TASK = "org.kettle.task"
# Images kettle makes from containers (the verifier's snapshot of the agent's filesystem).
LABEL_SNAPSHOT = "org.kettle.snapshot"
SNAPSHOT_REPOSITORY = "kettle-snapshot"


def kettle_labels(run_id: str, role: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels on everything kettle creates: what made it, for which run, owned by whom."""
    return {
        LABEL: "1",
        LABEL_RUN: run_id,
        LABEL_ROLE: role,
        LABEL_OWNER: owner_token(),
        **(extra or {}),
    }


def owner_token(pid: int | None = None) -> str:
    """host:pid:start-time — identifies a process even after its pid is reused."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_ticks(pid)}"


def owner_alive(token: str) -> bool:
    """Is the process named by ``owner_token`` still running? Unknown formats count as dead."""
    try:
        host, pid_text, ticks = token.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's process: not ours to judge
    return _process_start_ticks(pid) == ticks and ticks != ""


def _process_start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    return stat.rsplit(")", 1)[1].split()[19]
