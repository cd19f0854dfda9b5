"""Task settings tests change to show what kettle's defaults protect against."""

from __future__ import annotations

from pathlib import Path

# What a kettle task declares for Harbor's strictest settings (see the example tasks).
_STRICT_LINES = ('artifacts = ["/app"]\n', 'environment_mode = "separate"\n', 'user = "agent"\n')


def with_harbors_default_settings(task_dir: Path) -> Path:
    """The task as Harbor runs one that does not ask for more: the agent as root, in the
    container the verifier then runs in. Exploit probes show what those settings let through."""
    config = task_dir / "task.toml"
    text = config.read_text()
    for line in _STRICT_LINES:
        assert line in text, f"{line!r} not in {config}"
        text = text.replace(line, "")
    config.write_text(text)
    return task_dir
