"""Turning a candidate's records into a Harbor task: its id, task.toml, instruction, and
the final publish into ``RUN_DIR/tasks/<task-id>/``."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from agents.context import CandidateWorkspace
from agents.qualify.records import Qualification
from agents.reconstruct.records import ReconstructionReport
from harness.fsio import write_text_atomic
from harness.task.folder import HarborTask, derive_task_id
from harness.task.records import KETTLE_METADATA_KEY, TaskConfig
from tools.projects.dockerfile import AGENT_USER, WORKDIR
from tools.sessions.records import Candidate

AGENT_TIMEOUT_SEC = 1800.0
VERIFIER_TIMEOUT_SEC = 600.0
BUILD_TIMEOUT_SEC = 1800.0


def task_id_for(candidate: Candidate) -> str:
    """Readable and stable: the repository's name plus a short hash of the candidate id."""
    repo = (candidate.repo or "task").rstrip("/").removesuffix(".git")
    name = re.split(r"[/:]", repo)[-1] or "task"
    digest = hashlib.sha256(candidate.id.encode()).hexdigest()[:8]
    return derive_task_id(f"{name}-{digest}")


def draft_config(
    candidate: Candidate,
    qualification: Qualification,
    reconstruction: ReconstructionReport | None,
    builder: str,
) -> TaskConfig:
    """task.toml for a draft: Harbor's tables plus kettle's provenance under [metadata.kettle]."""
    task_id = task_id_for(candidate)
    spirit = qualification.task_spirit.strip().splitlines()
    description = (spirit[0] if spirit else candidate.first_prompt)[:200]
    language = reconstruction.language if reconstruction else candidate.hints.language
    workdir = reconstruction.workdir if reconstruction else WORKDIR
    provenance: dict[str, Any] = {
        # The solving agent never sees task.toml; Harbor ignores [metadata].
        "agent_internet": False,
        "candidate_id": candidate.id,
        "source_format": candidate.source_format,
        "repo": candidate.repo or "",
        "start_commit": qualification.start_commit or "",
        "fix_commit": qualification.fix_commit or "",
        "license": qualification.license or "",
        "builder": builder,
    }
    return TaskConfig.model_validate(
        {
            "task": {
                "name": f"kettle/{task_id}",
                "description": description,
                "keywords": [k for k in ("kettle", language) if k],
            },
            "metadata": {
                "category": "software_engineering",
                **({"language": language} if language else {}),
                KETTLE_METADATA_KEY: provenance,
            },
            # Harbor's strictest settings: the verifier in a fresh container of the image,
            # given only the project folder the agent worked in (README: "Output: Harbor
            # tasks" says what that costs a solution that changes installed packages).
            "verifier": {"timeout_sec": VERIFIER_TIMEOUT_SEC, "environment_mode": "separate"},
            "artifacts": [workdir],
            "agent": {"timeout_sec": AGENT_TIMEOUT_SEC, "user": AGENT_USER},
            "environment": {
                "build_timeout_sec": BUILD_TIMEOUT_SEC,
                "cpus": 1,
                "memory_mb": 4096,
                "workdir": workdir,
            },
        }
    )


def write_draft_config(workspace: CandidateWorkspace, config: TaskConfig, instruction: str) -> None:
    workspace.draft.mkdir(parents=True, exist_ok=True)
    write_text_atomic(workspace.draft / "task.toml", config.to_toml())
    write_text_atomic(workspace.draft / "instruction.md", instruction.rstrip() + "\n")


def publish(
    workspace: CandidateWorkspace, tasks_dir: Path, task_id: str, extra_metadata: dict[str, Any]
) -> HarborTask:
    """Copy the validated draft to ``tasks_dir/<task_id>`` atomically, with final provenance."""
    draft = HarborTask.load(workspace.draft).to_draft()
    metadata = dict(draft.config.metadata)
    metadata[KETTLE_METADATA_KEY] = {**metadata.get(KETTLE_METADATA_KEY, {}), **extra_metadata}
    draft.config = draft.config.model_copy(update={"metadata": metadata})
    return draft.write(tasks_dir / task_id, overwrite=True)
