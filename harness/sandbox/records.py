"""What a sandbox is: its spec, the protocol the rest of kettle programs against, and what
one command in it did."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class SandboxSpec(BaseModel):
    """What a sandbox is started from and what it may use."""

    image: str
    run_id: str = Field(description="Groups every container of one kettle run (for cleanup)")
    role: str = Field("sandbox", description="trial, qualify, reconstruct, verifier, ...")
    network: Literal["none", "bridge"] = Field(
        "none",
        description="'none' forever, or 'bridge' (which set_network can switch off and on)",
    )
    cpus: float | None = 1.0
    memory_mb: int | None = 2048
    pids_limit: int | None = 1024
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    cap_drop: list[str] = Field(default_factory=list)
    no_new_privileges: bool = True
    hostname: str = "sandbox"
    extra_labels: dict[str, str] = Field(default_factory=dict)


class ExecResult(BaseModel):
    """What one command did: exit code, separate streams, and whether it was cut off."""

    command: str
    exit_code: int | None = Field(description="None when the command was killed by the timeout")
    stdout: str
    stderr: str
    timed_out: bool = False
    duration_sec: float
    truncated_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class SandboxState(BaseModel):
    running: bool
    oom_killed: bool
    exit_code: int | None
    status: str


class Sandbox(Protocol):
    """A place to run commands and move files, isolated from the host."""

    @property
    def id(self) -> str: ...

    def exec(
        self,
        command: str | list[str],
        *,
        timeout_sec: float = 60.0,
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ExecResult: ...

    def copy_in(self, source: Path, destination: str) -> None: ...

    def copy_out(self, source: str, destination: Path) -> None: ...

    def write_file(self, path: str, content: bytes | str, mode: int = 0o644) -> None: ...

    def read_file(self, path: str, max_bytes: int = 10 * 1024 * 1024) -> bytes: ...

    def set_network(self, enabled: bool) -> None: ...

    def state(self) -> SandboxState: ...

    def close(self) -> None: ...
