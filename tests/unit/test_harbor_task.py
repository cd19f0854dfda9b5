"""harness.task.folder: reading and writing Harbor task directories."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from harness.errors import TaskFormatError
from harness.machine.harbor import harbor_python
from harness.settings import Settings
from harness.task.folder import HarborTask, TaskDraft, check_task_id, derive_task_id
from harness.task.records import TaskConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TASKS = REPO_ROOT / "examples" / "tasks"

# A task.toml exactly as `harbor init acme/hello --task --verifier-mode shared
# --include-standard-metadata` (Harbor 0.26) writes it.
HARBOR_INIT_TOML = """\
schema_version = "1.4"
artifacts = []

[task]
name = "acme/hello"
version = "1.0.0"
description = ""
authors = []
keywords = []

[metadata]
author_name = "unknown"
author_email = "unknown"
difficulty = "unknown"
category = "software_engineering"
tags = []
expert_time_estimate_min = 0.0
junior_time_estimate_min = 0.0

[verifier]
timeout_sec = 600.0
environment_mode = "shared"
collect = []

[verifier.env]

[agent]
timeout_sec = 600.0

[environment]
network_mode = "public"
build_timeout_sec = 600.0
os = "linux"
mcp_servers = []

[environment.env]

[solution.env]
"""


def draft(**config: object) -> TaskDraft:
    return TaskDraft(
        config=TaskConfig.model_validate(config),
        instruction="The pager skips the last item of every page. Please fix it.\n",
        files={
            "environment/Dockerfile": "ARG BASE_IMAGE=kettle/base:bookworm\nFROM ${BASE_IMAGE}\n",
            "environment/app/pager.py": "def page(items, n):\n    return items[: n - 1]\n",
            "solution/solve.sh": "#!/bin/bash\nsed -i 's/n - 1/n/' /app/pager.py\n",
            "tests/test.sh": "#!/bin/bash\necho 1 > /logs/verifier/reward.txt\n",
            "tests/test_pager.py": "def test_page():\n    assert True\n",
        },
    )


def write_task_dir(root: Path, toml: str, *, instruction: str = "Fix the bug.\n") -> Path:
    (root / "environment").mkdir(parents=True)
    (root / "solution").mkdir()
    (root / "tests").mkdir()
    (root / "task.toml").write_text(toml)
    (root / "instruction.md").write_text(instruction)
    (root / "environment" / "Dockerfile").write_text("FROM scratch\n")
    (root / "solution" / "solve.sh").write_text("#!/bin/bash\n")
    (root / "tests" / "test.sh").write_text("#!/bin/bash\n")
    return root


def load_error(root: Path) -> str:
    with pytest.raises(TaskFormatError) as caught:
        HarborTask.load(root)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- round trip -------------------------------------------------------------------------


def test_written_task_loads_back_with_the_same_config_instruction_and_files(tmp_path: Path):
    original = draft(
        task={"name": "kettle/pager-off-by-one", "keywords": ["python", "pagination"]},
        metadata={"kettle": {"agent_internet": False, "source_repo": "https://x.invalid/r"}},
        verifier={"timeout_sec": 120, "env": {"PYTHONHASHSEED": "0"}},
        agent={"timeout_sec": 900},
        environment={"cpus": 2, "memory_mb": 2048, "workdir": "/app"},
        solution={"env": {"LC_ALL": "C.UTF-8"}},
    )

    loaded = original.write(tmp_path / "pager-off-by-one")

    assert loaded.config == original.config
    assert loaded.instruction == original.instruction
    assert loaded.task_id == "pager-off-by-one"
    assert loaded.name == "kettle/pager-off-by-one"
    again = loaded.to_draft()
    assert {name: bytes(c, "utf-8") for name, c in original.files.items()} == again.files


def test_scripts_are_written_executable_and_data_files_are_not(tmp_path: Path):
    task = draft().write(tmp_path / "t1")

    assert os.access(task.solve_path, os.X_OK)
    assert os.access(task.test_path, os.X_OK)
    assert not os.access(task.tests_dir / "test_pager.py", os.X_OK)
    assert stat.S_IMODE(task.root.stat().st_mode) == 0o755


def test_write_refuses_to_replace_an_existing_task_unless_asked(tmp_path: Path):
    target = tmp_path / "t1"
    draft().write(target)
    (target / "stale.txt").write_text("from the previous version")

    with pytest.raises(TaskFormatError, match="already exists"):
        draft().write(target)
    replaced = draft(agent={"timeout_sec": 5}).write(target, overwrite=True)

    assert replaced.config.agent.timeout_sec == 5
    assert not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["t1"]


def test_a_draft_that_would_not_load_leaves_no_directory_behind(tmp_path: Path):
    broken = draft()
    del broken.files["tests/test.sh"]

    with pytest.raises(TaskFormatError, match=r"tests/test\.sh: missing"):
        broken.write(tmp_path / "t1")
    assert list(tmp_path.iterdir()) == []


def test_draft_file_paths_must_stay_inside_the_task():
    for bad in ("../escape.sh", "/etc/passwd", "task.toml"):
        with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
            TaskDraft(instruction="x", files={bad: "x"})


def test_task_toml_output_is_plain_toml_without_null_or_empty_tables():
    text = TaskConfig.model_validate({"verifier": {"timeout_sec": 60}}).to_toml()

    assert 'schema_version = "1.4"' in text
    assert "[verifier]\ntimeout_sec = 60.0" in text
    assert "[solution" not in text
    assert "None" not in text


def test_free_form_metadata_is_written_as_given():
    config = TaskConfig(metadata={"tags": [], "provenance": {}, "difficulty": "easy"})

    assert TaskConfig.from_toml(config.to_toml()) == config


def test_metadata_toml_cannot_hold_is_a_task_format_error():
    with pytest.raises(TaskFormatError, match="cannot be written as TOML"):
        TaskConfig(metadata={"reviewer": None}).to_toml()


def test_copying_a_loaded_task_preserves_every_file(tmp_path: Path):
    first = draft().write(tmp_path / "a")
    (first.environment_dir / "app" / "data.bin").write_bytes(b"\x00\xff")

    copy = HarborTask.load(first.root).write(tmp_path / "b")

    assert (copy.environment_dir / "app" / "data.bin").read_bytes() == b"\x00\xff"
    assert copy.config == first.config


# --- task.toml schema -------------------------------------------------------------------


def test_legacy_version_key_is_read_as_schema_version():
    assert TaskConfig.from_toml('version = "1.0"\n').schema_version == "1.0"


def test_defaults_match_harbor():
    config = TaskConfig.from_toml("")

    assert config.verifier.timeout_sec == 600
    assert config.environment.build_timeout_sec == 600
    assert config.environment.internet_allowed
    assert config.agent_internet


def test_unknown_key_in_a_known_section_names_file_key_and_suggestion():
    with pytest.raises(TaskFormatError) as caught:
        TaskConfig.from_toml("[environment]\ncpu = 2\n")

    assert str(caught.value).startswith(
        "task.toml: unknown key environment.cpu — did you mean cpus?"
    )


def test_unknown_nested_and_root_keys_are_reported_by_dotted_path():
    with pytest.raises(TaskFormatError, match=r"unknown key environment\.healthcheck\.comand"):
        TaskConfig.from_toml('[environment.healthcheck]\ncomand = "true"\n')
    with pytest.raises(TaskFormatError, match=r"unknown key verifer — did you mean verifier\?"):
        TaskConfig.from_toml("[verifer]\ntimeout_sec = 1\n")


def test_free_form_sections_accept_any_keys():
    config = TaskConfig.from_toml(
        "[metadata]\nanything = 1\n[metadata.provenance]\nrepo = 'r'\n"
        "[environment.env]\nWHATEVER = 'x'\n[verifier.env]\nOTHER = 'y'\n"
    )

    assert config.metadata["provenance"] == {"repo": "r"}
    assert config.environment.env == {"WHATEVER": "x"}


def test_wrong_type_names_key_and_expected_type():
    with pytest.raises(TaskFormatError) as caught:
        TaskConfig.from_toml('[verifier]\ntimeout_sec = "ten minutes"\n', source="t/task.toml")

    message = str(caught.value)
    assert message.startswith("t/task.toml: verifier.timeout_sec must be a number, got str")
    assert "'ten minutes'" in message


def test_wrong_type_in_a_union_lists_each_accepted_type():
    with pytest.raises(TaskFormatError, match=r"agent\.user must be a string or an integer"):
        TaskConfig.from_toml("[agent]\nuser = [1]\n")


def test_env_values_must_be_strings():
    with pytest.raises(TaskFormatError, match=r"environment\.env\.PORT must be a string"):
        TaskConfig.from_toml("[environment.env]\nPORT = 8080\n")


def test_invalid_enum_value_lists_the_choices():
    with pytest.raises(TaskFormatError, match=r"environment\.network_mode must be one of"):
        TaskConfig.from_toml('[environment]\nnetwork_mode = "offline"\n')


def test_task_name_must_be_org_slash_name_like_harbor_requires():
    with pytest.raises(TaskFormatError, match=r"task\.name: must be 'org/name'"):
        TaskConfig.from_toml('[task]\nname = "no-org"\n')
    with pytest.raises(TaskFormatError, match=r"missing required key task\.name"):
        TaskConfig.from_toml('[task]\ndescription = "x"\n')


def test_bad_toml_names_file_line_and_column():
    with pytest.raises(TaskFormatError) as caught:
        TaskConfig.from_toml("[verifier]\ntimeout_sec = = 1\n", source="x/task.toml")

    message = str(caught.value)
    assert message.startswith("x/task.toml: invalid TOML")
    assert "line 2, column" in message


@pytest.mark.parametrize(
    ("toml", "agent_internet"),
    [
        ("", True),
        ("[environment]\nallow_internet = false\n", False),
        ('[environment]\nnetwork_mode = "no-network"\n', False),
        ('[environment]\nnetwork_mode = "allowlist"\nallowed_hosts = ["pypi.org"]\n', False),
        ('[environment]\nallow_internet = true\n[agent]\nnetwork_mode = "no-network"\n', False),
        ("[metadata.kettle]\nagent_internet = false\n", False),
        (
            '[environment]\nnetwork_mode = "no-network"\n'
            "[metadata.kettle]\nagent_internet = true\n",
            False,
        ),
        ('[environment]\nnetwork_mode = "public"\nallow_internet = false\n', True),
    ],
)
def test_agent_internet_follows_harbor_settings_and_kettle_can_only_restrict(
    toml: str, agent_internet: bool
):
    assert TaskConfig.from_toml(toml).agent_internet is agent_internet


def test_kettle_agent_internet_must_be_a_boolean():
    with pytest.raises(TaskFormatError, match=r"kettle\.agent_internet must be true or false"):
        TaskConfig.from_toml('[metadata.kettle]\nagent_internet = "no"\n')


# --- task directories -------------------------------------------------------------------


def test_missing_directory_is_reported(tmp_path: Path):
    assert "no such directory" in load_error(tmp_path / "nope")


@pytest.mark.parametrize(
    "relative",
    ["task.toml", "instruction.md", "solution/solve.sh", "tests/test.sh", "environment/Dockerfile"],
)
def test_each_missing_file_is_named(tmp_path: Path, relative: str):
    root = write_task_dir(tmp_path / "t", "")
    (root / relative).unlink()

    message = load_error(root)

    assert message.startswith(f"{root / relative}: missing")


def test_prebuilt_docker_image_replaces_the_dockerfile(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", '[environment]\ndocker_image = "kettle/x:1"\n')
    (root / "environment" / "Dockerfile").unlink()

    task = HarborTask.load(root)

    assert task.dockerfile_path is None
    assert task.config.environment.docker_image == "kettle/x:1"


def test_empty_instruction_is_rejected(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", "", instruction=" \n\n")

    assert load_error(root) == f"{root / 'instruction.md'}: is empty — " + (
        TaskFormatError.default_hint
    )


def test_config_errors_from_load_name_the_full_path(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", "[environment]\nmemory_mb = 'lots'\n")

    message = load_error(root)

    assert message.startswith(f"{root / 'task.toml'}: environment.memory_mb must be an integer")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[environment]\ncpus = nan\n", "environment.cpus"),
        ("[environment]\ncpus = -inf\n", "environment.cpus"),
        ("[environment]\ncpus = 0\n", "environment.cpus"),
        ("[environment]\nmemory_mb = -1\n", "environment.memory_mb"),
        ("[environment]\nstorage_mb = 0\n", "environment.storage_mb"),
        ("[environment]\nbuild_timeout_sec = inf\n", "environment.build_timeout_sec"),
        ("[agent]\ntimeout_sec = nan\n", "agent.timeout_sec"),
        ("[verifier]\ntimeout_sec = -5\n", "verifier.timeout_sec"),
        ("[verifier.environment]\ncpus = inf\n", "verifier.environment.cpus"),
        (
            '[environment.healthcheck]\ncommand = "true"\ninterval_sec = nan\n',
            "environment.healthcheck.interval_sec",
        ),
    ],
)
def test_impossible_limits_and_timeouts_are_refused_naming_the_key(toml: str, key: str):
    with pytest.raises(TaskFormatError) as caught:
        TaskConfig.from_toml(toml)

    message = str(caught.value)
    assert message.startswith(f"task.toml: {key}")
    assert "got" in message


def test_fractional_cpus_and_positive_limits_still_load():
    config = TaskConfig.from_toml("[environment]\ncpus = 0.5\nmemory_mb = 512\n")

    assert config.environment.cpus == 0.5
    assert config.environment.memory_mb == 512


def test_quoted_keys_are_shown_escaped_on_one_line():
    with pytest.raises(TaskFormatError) as caught:
        TaskConfig.from_toml('[environment]\n"cpu\\ts" = 1\n')

    assert str(caught.value).startswith('task.toml: unknown key environment."cpu\\ts"')


@pytest.mark.parametrize("name", ["instruction.md", "task.toml"])
def test_task_files_linked_to_devices_or_outside_the_task_are_refused(tmp_path: Path, name: str):
    root = write_task_dir(tmp_path / "t", "")
    (root / name).unlink()
    (root / name).symlink_to("/dev/zero")

    assert "links outside the task folder" in load_error(root)


def test_a_link_to_a_file_inside_the_task_is_read(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", "", instruction="")
    (root / "docs").mkdir()
    (root / "docs" / "prompt.md").write_text("Fix the pager.\n")
    (root / "instruction.md").unlink()
    (root / "instruction.md").symlink_to("docs/prompt.md")

    assert HarborTask.load(root).instruction == "Fix the pager.\n"


def test_an_oversized_instruction_is_refused_without_reading_it_all(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", "")
    with (root / "instruction.md").open("wb") as file:
        file.truncate(64 * 1024**2)

    assert "larger than" in load_error(root)


@pytest.mark.parametrize("folder", ["environment", "solution", "tests"])
def test_task_folders_that_are_symlinks_are_refused_at_load(tmp_path: Path, folder: str):
    root = write_task_dir(tmp_path / "t", "")
    shutil.move(root / folder, tmp_path / "elsewhere")
    (root / folder).symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    assert load_error(root).startswith(f"{root / folder}: is a symlink")


@pytest.mark.parametrize(
    "relative", ["tests/test.sh", "solution/solve.sh", "environment/Dockerfile"]
)
def test_required_files_linked_outside_the_task_count_as_missing(tmp_path: Path, relative: str):
    root = write_task_dir(tmp_path / "t", "")
    (root / relative).unlink()
    (root / relative).symlink_to("/etc/hostname")

    assert load_error(root).startswith(f"{root / relative}: missing")


def test_a_copied_task_leaves_links_to_host_files_behind(tmp_path: Path):
    root = write_task_dir(tmp_path / "t", "")
    (root / "tests" / "passwd").symlink_to("/etc/passwd")

    files = HarborTask.load(root).to_draft().files

    assert "tests/test.sh" in files
    assert "tests/passwd" not in files


def test_multi_step_and_windows_tasks_are_refused_with_a_reason(tmp_path: Path):
    steps = write_task_dir(tmp_path / "s", '[[steps]]\nname = "one"\n')
    windows = write_task_dir(tmp_path / "w", '[environment]\nos = "windows"\n')

    assert "multi-step" in load_error(steps)
    assert "not supported" in load_error(windows)


def test_task_name_falls_back_to_the_directory_name(tmp_path: Path):
    task = HarborTask.load(write_task_dir(tmp_path / "fix-dates", ""))

    assert task.task_id == "fix-dates"
    assert task.name == "fix-dates"


def test_a_task_generated_by_harbor_init_loads(tmp_path: Path):
    task = HarborTask.load(write_task_dir(tmp_path / "hello", HARBOR_INIT_TOML))

    assert task.name == "acme/hello"
    assert task.config.verifier.environment_mode == "shared"
    assert task.config.metadata["category"] == "software_engineering"


def _harbor_binary() -> Path | None:
    """Harbor as `python -m harness.setup --harbor` installs it (KETTLE_HARBOR_PYTHON too)."""
    python = harbor_python(Settings.from_env())
    return python.parent / "harbor" if python is not None else None


@pytest.mark.harbor
@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_a_task_made_by_the_installed_harbor_init_loads(tmp_path: Path, mode: str):
    harbor = _harbor_binary()
    if harbor is None:
        pytest.skip("Harbor is not installed (python -m harness.setup --harbor)")
    subprocess.run(
        [
            str(harbor),
            "init",
            "acme/hello",
            "--task",
            "--verifier-mode",
            mode,
            "--include-standard-metadata",
            "-o",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )

    # Harbor's template leaves instruction.md empty for the author to fill in.
    (tmp_path / "hello" / "instruction.md").write_text("Say hello.\n")

    task = HarborTask.load(tmp_path / "hello")

    assert task.name == "acme/hello"
    assert task.config.verifier.environment_mode == mode


@pytest.mark.harbor
def test_a_task_kettle_writes_is_accepted_by_harbors_own_loader(tmp_path: Path):
    harbor = _harbor_binary()
    python = harbor.parent / "python" if harbor else None
    if python is None or not python.is_file():
        pytest.skip("Harbor's Python environment is not installed")
    task = draft(
        task={"name": "kettle/pager-off-by-one"},
        metadata={"kettle": {"agent_internet": False}},
        verifier={"timeout_sec": 120},
        environment={"cpus": 2, "allow_internet": True, "workdir": "/app"},
    ).write(tmp_path / "pager-off-by-one")
    script = (
        "import sys; from harbor.models.task.task import Task; t = Task(sys.argv[1]); "
        "print(t.name, t.config.verifier.timeout_sec, t.config.environment.network_mode.value)"
    )

    shown = subprocess.run(
        [str(python), "-c", script, str(task.root)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert shown.stdout.split() == ["kettle/pager-off-by-one", "120.0", "public"]


def example_task_dirs() -> list[Path]:
    return sorted(p for p in EXAMPLE_TASKS.iterdir() if p.is_dir())


def test_at_least_three_example_tasks_are_bundled():
    assert len(example_task_dirs()) >= 3


@pytest.mark.parametrize("task_dir", example_task_dirs(), ids=lambda p: p.name)
def test_bundled_example_tasks_load_and_keep_the_agent_offline(task_dir: Path):
    task = HarborTask.load(task_dir)

    assert task.config.agent_internet is False
    assert task.dockerfile_path is not None
    assert task.dockerfile_path.read_text().startswith("ARG BASE_IMAGE=kettle/base:bookworm\n")


# --- task ids ---------------------------------------------------------------------------


def test_task_id_is_derived_from_free_text():
    assert derive_task_id("Owner/Repo#42: Fix X!") == "owner-repo-42-fix-x"
    assert len(derive_task_id("a" * 200)) == 64
    with pytest.raises(TaskFormatError):
        derive_task_id("!!!")


def test_task_directory_names_must_be_valid_ids(tmp_path: Path):
    assert check_task_id("pager-off-by-one") == "pager-off-by-one"
    with pytest.raises(TaskFormatError, match="not a valid task id"):
        draft().write(tmp_path / "Has Spaces")
