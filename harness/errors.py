"""One exception hierarchy for everything kettle reports to a user.

Every error carries a one-line message (what went wrong) and a hint (what to do about
it). The command-line entry points print ``str(error)`` on one line and exit non-zero;
tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

from pydantic import ValidationError


class KettleError(Exception):
    """Base class: a failure the user can act on."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message


class SetupError(KettleError):
    """The machine is not ready: Docker engine, base images, certificates."""

    default_hint = "run `python -m harness.setup` and read its output"


class DockerUnavailableError(SetupError):
    default_hint = "start the engine with `python -m harness.setup` (or `dockerd &`), then rerun"


class SandboxError(KettleError):
    """A container or image operation failed."""


class BuildError(SandboxError):
    default_hint = "read the build log named in the message, fix the Dockerfile, then rerun"


class ExecTimeoutError(SandboxError):
    default_hint = "raise the timeout or make the command finish sooner"


class TerminalError(KettleError):
    """The tmux session inside a sandbox misbehaved."""


class TaskFormatError(KettleError):
    """A Harbor task directory is missing files or has an invalid task.toml."""

    default_hint = "fix the named file (see the Harbor task format in README.md), then rerun"


class SessionFormatError(KettleError):
    """An agent-session transcript could not be parsed."""

    default_hint = "check that the file is a complete, unmodified session export"


class RepositoryError(KettleError):
    """A git repository or commit could not be reached or read."""

    default_hint = "check the repository URL or path and that the commit exists"


class ModelError(KettleError):
    """The model provider failed in a way retries cannot fix."""

    default_hint = "check the model name, --api-base and the provider's API key variable"


class ContextWindowError(ModelError):
    """The prompt no longer fits the model's context window."""

    default_hint = (
        "the loop summarizes history and continues; lower the context budget if this repeats"
    )


class BudgetExhaustedError(KettleError):
    """A step, cost, time or token budget ran out."""

    def __init__(self, which: str, message: str | None = None) -> None:
        super().__init__(message or f"budget exhausted: {which}", "raise the budget to go further")
        self.which = which


class ConfigError(KettleError):
    """A command-line option, setting or configuration file is invalid."""

    default_hint = "run the command with --help to see the accepted values"


class LedgerError(KettleError):
    """The run directory's ledger is unreadable or belongs to another kind of run."""

    default_hint = "use a new --out directory, or remove the broken run directory"


class RunStorageError(KettleError):
    """The job or run folder cannot be written (disk full, quota, read-only): the run stops."""

    default_hint = (
        "free space in the output folder, then rerun to continue "
        "(harness.run: --resume; harness.build: the same --out)"
    )


def validation_problems(error: ValidationError, root: str = "value") -> list[str]:
    """One ``where: what`` line per problem pydantic found, for messages and model feedback."""
    return [
        f"{'.'.join(str(part) for part in issue['loc']) or root}: {issue['msg']}"
        for issue in error.errors()
    ]


class ExecutorError(KettleError):
    """The executor could not run a unit of work (cluster unreachable, node lost too often)."""

    default_hint = "check the cluster (`ray status`), then rerun with the same --out to resume"


class ExecutorCancelled(KettleError):
    """The run was interrupted while a unit was running on another node."""
