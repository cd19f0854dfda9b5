"""Was the session building something from scratch rather than working on existing code?

"Build me a todo app" in an empty repo has no start state worth reconstructing and no fix
to verify against: any of countless apps would do. Two signals: the start commit holds
almost no source code (counted in lines, not files: minimist is one 250-line file and
plenty to work on, a scaffold's three empty modules are not), or the first prompt asks for
a new project. A prompt alone is weak
evidence in a large repo ("create a new CLI" may mean a new subcommand), so there a human
decides.
"""

from __future__ import annotations

import re

from agents.qualify.config import QualifyConfig
from agents.qualify.records import CheckResult
from tools.projects.paths import is_source
from tools.repos.git import LocalRepo

_PROJECT_NOUNS = (
    r"app|application|project|website|web ?site|site|game|api|service|cli|tool|backend|"
    r"frontend|dashboard|clone|repo|repository|server|bot|extension|plugin|library|package"
)
_NOT_A_PROJECT = (
    r"endpoint|route|test|function|method|class|module|file|component|page|handler|key|"
    r"token|call|client|request|version|command|option|flag"
)
SCRATCH_CUES = (
    re.compile(r"(?i)\bfrom (the )?scratch\b"),
    re.compile(r"(?i)\b(scaffold(ing)?|boilerplate|greenfield|bootstrap a)\b"),
    re.compile(
        rf"(?i)\b(build|create|make|write|generate|set ?up|start|init(ialize)?|code)\s+"
        rf"(me\s+|us\s+)?(an?|the|my)\s+(new\s+|simple\s+|basic\s+|small\s+|full\s+|complete\s+)?"
        rf"([\w-]+\s+)?({_PROJECT_NOUNS})\b(?!\s*({_NOT_A_PROJECT})\b)"
    ),
)
_LINE_COUNT_LIMIT = 200  # beyond this many source files a repo is not near-empty anyway


def scratch_cue(prompt: str) -> str | None:
    """The words in ``prompt`` that ask for a brand-new project, if any."""
    for cue in SCRATCH_CUES:
        match = cue.search(prompt)
        if match:
            return match.group(0)
    return None


def check_existing_codebase(
    repo: LocalRepo, start_sha: str, first_prompt: str, config: QualifyConfig
) -> CheckResult:
    """Passed: there was real code to work on. Failed: from scratch."""
    sources = [entry.path for entry in repo.list_files(start_sha) if is_source(entry.path)]
    lines = None
    if len(sources) <= _LINE_COUNT_LIMIT:
        lines = sum(repo.line_counts(start_sha, sources).values())
    cue = scratch_cue(first_prompt)
    evidence = {"source_files": len(sources), "source_lines": lines, "prompt_cue": cue}
    size = f"{len(sources)} source files" + (f" ({lines} lines)" if lines is not None else "")
    if lines is not None and lines < config.min_source_lines:
        return CheckResult(
            name="existing_codebase",
            passed=False,
            code="from_scratch",
            reason=f"the start commit has only {size}: too little code to start from",
            evidence=evidence,
        )
    if cue and len(sources) < config.scratch_prompt_repo_files:
        return CheckResult(
            name="existing_codebase",
            passed=False,
            code="from_scratch",
            reason=f'the prompt asks for a new project ("{cue}") and the repo has only {size}',
            evidence=evidence,
        )
    if cue:
        return CheckResult(
            name="existing_codebase",
            passed=None,
            reason=f'the prompt asks for a new project ("{cue}") in a repo with {size}',
            evidence=evidence,
        )
    return CheckResult(
        name="existing_codebase",
        passed=True,
        reason=f"the start commit has {size}",
        evidence=evidence,
    )
