"""How a trial's container is locked down: capabilities, limits, user, network.

The agent phase is where an optimizer tries everything, so its container gets the least
it needs: no network unless the task declares it, the task's cpu/memory limits, a pids
limit, ``no-new-privileges`` and a reduced capability set. Root inside the container keeps
what package managers need (apt, pip and npm install as root and work unchanged: CHOWN,
DAC_OVERRIDE, FOWNER, FSETID, KILL, SETUID, SETGID, NET_BIND_SERVICE); everything an
attacker reaches for (raw sockets, mounts, tracing, device nodes, file capabilities) is
dropped. Host secrets never enter: a container's environment is the image's plus the
task's own ``[environment].env``, nothing from the host.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel

from harness.errors import TaskFormatError
from harness.sandbox.records import SandboxSpec
from harness.task.folder import HarborTask

# Capabilities removed from every trial container. Docker's default set minus the ones an
# attacker wants, plus the dangerous non-default ones named explicitly (so a daemon with a
# wider default set, or a future change to it, cannot hand them back). Docker 20.10 does
# not know CAP_BPF / CAP_PERFMON / CAP_CHECKPOINT_RESTORE and refuses them by name; they
# are not in its default set.
DROPPED_CAPABILITIES: tuple[str, ...] = (
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "DAC_READ_SEARCH",
    "IPC_LOCK",
    "IPC_OWNER",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETPCAP",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
)

DEFAULT_CPUS = 1.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_PIDS_LIMIT = 1024
# Docker refuses memory limits under 6 MB; a task asking for less is a typo.
MIN_MEMORY_MB = 6
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_FACTOR_MB = {"": 1 / 1024**2, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024**2}


class ResourceLimits(BaseModel):
    cpus: float
    memory_mb: int
    pids_limit: int


def resource_limits(task: HarborTask) -> ResourceLimits:
    """The task's limits, checked: a number Docker would choke on is a TaskFormatError.

    ``memory_mb`` wins over the deprecated ``memory = "2G"`` string older tasks carry.
    """
    environment = task.config.environment
    where = f"{task.config_path}: environment"
    cpus = DEFAULT_CPUS if environment.cpus is None else float(environment.cpus)
    if not math.isfinite(cpus) or not 0 < cpus <= 1024:
        raise TaskFormatError(f"{where}.cpus must be a number in (0, 1024], got {cpus!r}")
    memory_mb = environment.memory_mb
    if memory_mb is None and environment.memory:
        memory_mb = parse_size_mb(environment.memory, f"{where}.memory")
    memory_mb = DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
    if not MIN_MEMORY_MB <= memory_mb <= 1024**2:
        raise TaskFormatError(
            f"{where}.memory_mb must be between {MIN_MEMORY_MB} and {1024**2}, got {memory_mb}"
        )
    return ResourceLimits(cpus=cpus, memory_mb=memory_mb, pids_limit=DEFAULT_PIDS_LIMIT)


def parse_size_mb(text: str, where: str) -> int:
    """'2G', '512M', '1.5GiB' -> megabytes."""
    match = _SIZE.match(text)
    if not match:
        raise TaskFormatError(f"{where} must be a size like '2G' or '512M', got {text!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    return max(int(number * _SIZE_FACTOR_MB[unit]), 0)


def check_timeouts(task: HarborTask) -> None:
    """Timeouts must be finite and positive: an infinite one would hang a trial forever."""
    config = task.config
    timeouts = {
        "agent.timeout_sec": config.agent.timeout_sec,
        "verifier.timeout_sec": config.verifier.timeout_sec,
        "environment.build_timeout_sec": config.environment.build_timeout_sec,
    }
    for key, value in timeouts.items():
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise TaskFormatError(
                f"{task.config_path}: {key} must be a positive number of seconds, got {value!r}"
            )


def trial_sandbox_spec(task: HarborTask, image: str, run_id: str, role: str) -> SandboxSpec:
    """The locked-down container every phase of a trial runs in.

    It starts on the bridge network so the runner can switch the network per phase
    (``set_network``); the agent never runs before its phase's policy is applied.
    """
    limits = resource_limits(task)
    return SandboxSpec(
        image=image,
        run_id=run_id,
        role=role,
        network="bridge",
        cpus=limits.cpus,
        memory_mb=limits.memory_mb,
        pids_limit=limits.pids_limit,
        env=task.config.environment.env,
        workdir=task.config.environment.workdir,
        cap_drop=list(DROPPED_CAPABILITIES),
        no_new_privileges=True,
        extra_labels={"org.kettle.task": task.task_id},
    )


def agent_user(task: HarborTask) -> str | None:
    """[agent].user as Docker wants it (a name or a uid), or None for the image's user."""
    user = task.config.agent.user
    return None if user is None else str(user)
