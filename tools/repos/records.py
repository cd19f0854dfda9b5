"""Records of repositories: commits and their changes, a fix split into a solution patch and
its tests, license findings, and the commit specs that team-written repositories are built
from (``history.toml`` of ``examples/projects/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ChangeStatus = Literal["added", "modified", "deleted"]


class FileChange(BaseModel):
    """How one file changed between two trees."""

    path: str
    insertions: int = 0
    deletions: int = 0
    binary: bool = False
    status: ChangeStatus = "modified"


class DiffStats(BaseModel):
    """Per-file and total line counts of a change."""

    files: list[FileChange] = Field(default_factory=list)

    @property
    def insertions(self) -> int:
        return sum(change.insertions for change in self.files)

    @property
    def deletions(self) -> int:
        return sum(change.deletions for change in self.files)

    @property
    def paths(self) -> list[str]:
        return [change.path for change in self.files]


class CommitInfo(BaseModel):
    """One commit with its change against its first parent."""

    sha: str
    parents: list[str] = Field(default_factory=list)
    author_name: str
    author_email: str
    authored_at: datetime
    committed_at: datetime
    message: str
    stats: DiffStats = Field(default_factory=DiffStats)

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


class TreeEntry(BaseModel):
    """One file in a tree; ``size`` is None for submodules."""

    path: str
    mode: str
    size: int | None


Strategy = Literal["fix_commit", "cumulative"]


class SolutionPatch(BaseModel):
    """What solve.sh applies and which test files the verifier takes from the fix."""

    start_commit: str
    fix_commit: str
    first_commit: str | None = Field(None, description="First commit of a fix range, if any")
    fixed_tree: str = Field(
        description="The start state with the fix: a tree (or, cumulative, the fix commit); "
        "the verifier's test files are read from it"
    )
    strategy: Strategy = Field(
        description="fix_commit: its own change, cherry-picked; cumulative: start..fix"
    )
    source_paths: list[str] = Field(description="Non-test files solve.sh changes")
    test_paths: list[str] = Field(description="Test files the fix adds or modifies")
    deleted_test_paths: list[str] = Field(default_factory=list)
    left_out: list[str] = Field(
        default_factory=list,
        description="Bookkeeping files of the fix (docs, a version bump) left out because "
        "they conflict with the start state (the commits in between edited them too); the "
        "fix's code and tests applied alone",
    )
    diff: bytes = Field(description="The source patch, git format (binary-safe)")

    @property
    def diff_text(self) -> str:
        return self.diff.decode("utf-8", errors="replace")


LicenseSource = Literal["license_file", "reuse_dir", "package_metadata", "spdx_header"]


class LicenseFinding(BaseModel):
    """One piece of license evidence at the start commit."""

    source: LicenseSource
    path: str
    license: str | None = Field(description="SPDX expression; None when unrecognised")
    open_source: bool | None
    detail: str = ""


class LicenseReport(BaseModel):
    """The license decision for one commit, with every finding behind it."""

    license: str | None
    open_source: bool | None
    reason: str
    findings: list[LicenseFinding] = Field(default_factory=list)


class CommitSpec(BaseModel):
    """One commit: files to write (content) or delete (None), and when it happened."""

    message: str
    files: dict[str, str | None] = Field(default_factory=dict)
    executable: list[str] = Field(default_factory=list, description="Paths to chmod +x")
    symlinks: dict[str, str] = Field(
        default_factory=dict, description="Links to commit: path -> target (may dangle)"
    )
    date: datetime | None = None
    tag: str | None = None


class ExampleCommit(BaseModel):
    dir: str
    message: str
    date: datetime
    delete: list[str] = Field(default_factory=list)
    executable: list[str] = Field(default_factory=list)


class ExampleProject(BaseModel):
    name: str
    language: str
    commit: list[ExampleCommit]
