"""Limits of the deterministic qualifier, kept out of the checks so a run can tune them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QualifyConfig(BaseModel):
    """Thresholds for baseline qualification; defaults suit ordinary application repos."""

    schema_version: int = 2
    fix_window_days: float = Field(
        60.0, gt=0, description="How long after the session a fix commit may land"
    )
    fix_window_steps: int = Field(
        30,
        ge=1,
        description="Steps on the branch after the start that are searched whatever their date",
    )
    max_fix_candidates: int = Field(400, ge=1, description="Changes scored at most")
    max_branch_commits: int = Field(
        10, ge=1, description="A merged branch of more commits is split into its commits"
    )
    max_unmerged_candidates: int = Field(
        100, ge=0, description="Commits of branches that never reached the line, at most"
    )
    min_fix_coverage: float = Field(
        0.12,
        gt=0,
        description="Share of what matching all the user's terms would score that a code fix "
        "must reach to be chosen without a human",
    )
    min_docs_fix_coverage: float = Field(
        0.04,
        gt=0,
        description="The same for a docs-only fix (read from its message and paths only); "
        "below half of it, no change counts as evidence at all",
    )
    fix_margin: float = Field(
        1.6,
        gt=1,
        description="How many times the best change must outscore the next to be chosen "
        "without a human",
    )
    min_source_lines: int = Field(
        30,
        ge=0,
        description="Fewer source lines at the start commit means from scratch (however many "
        "files hold them: a real library can be one 250-line file)",
    )
    scratch_prompt_repo_files: int = Field(
        20,
        ge=0,
        description="A scaffolding prompt on a repo with fewer source files is from scratch; "
        "on a larger one a human decides",
    )
    ranked_fix_candidates: int = Field(5, ge=1, description="How many candidates evidence keeps")
    max_typo_words: int = Field(8, ge=1, description="More changed words is not a typo fix")
