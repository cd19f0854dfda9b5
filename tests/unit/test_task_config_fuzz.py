"""Hostile task input: whatever a task folder holds, loading it either works or raises a
one-line TaskFormatError — and nothing from outside the folder reaches a container.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import string
import tarfile
import threading
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import TaskFormatError
from harness.runner.hardening import check_timeouts, resource_limits
from harness.sandbox import archive
from harness.task.folder import HarborTask
from harness.task.records import TaskConfig
from tests.conftest import EXAMPLE_TASKS

EXAMPLE = EXAMPLE_TASKS / "reqstats-sort-and-gzip"
SECTIONS = ("task", "metadata", "verifier", "agent", "environment", "solution", "steps")
KNOWN_KEYS = (
    "name", "timeout_sec", "user", "env", "cpus", "memory_mb", "memory", "storage_mb",
    "docker_image", "workdir", "allow_internet", "network_mode", "environment_mode",
    "build_timeout_sec", "kettle", "agent_internet", "version", "schema_version", "os",
)  # fmt: skip

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(string.ascii_letters + "_-", min_size=1, max_size=10)
documents = st.dictionaries(
    st.sampled_from(SECTIONS) | keys,
    st.dictionaries(keys, toml_values, max_size=6) | toml_values,
    max_size=6,
)


def only_task_format_errors(text: str) -> TaskConfig | None:
    try:
        return TaskConfig.from_toml(text)
    except TaskFormatError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_loads_or_is_a_one_line_task_format_error(text: str) -> None:
    only_task_format_errors(text)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_well_formed_toml_with_random_keys_and_values_never_crashes(document: dict) -> None:
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):
        return  # not representable as TOML (e.g. a NaN key); nothing to load
    only_task_format_errors(text)


@pytest.mark.parametrize("key", ['"\\n"', '"\\u001b[2J"'])
def test_error_messages_stay_on_one_line_whatever_the_keys(key: str) -> None:
    with pytest.raises(TaskFormatError) as raised:
        TaskConfig.from_toml(f"[task]\n{key} = false\n")
    assert str(raised.value).isprintable()


@pytest.mark.parametrize("depth", [10, 200])
def test_moderately_deep_nesting_loads(depth: int) -> None:
    text = "[metadata]\nx = " + "[" * depth + "]" * depth + "\n"
    assert only_task_format_errors(text) is not None


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{b=", "}")])
def test_absurdly_deep_nesting_is_a_task_format_error(opening: str, closing: str) -> None:
    only_task_format_errors("a = " + opening * 5000 + "1" * (opening != "[") + closing * 5000)


def test_impossible_resource_values_are_refused_by_load_or_the_runner(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    for fragment, message in [
        ("cpus = nan", "cpus"),
        ("cpus = inf", "cpus"),
        ("cpus = -1", "cpus"),
        ("memory_mb = 99999999999999999999", "memory_mb"),
        ("memory_mb = 1", "memory_mb"),
        ('memory = "lots"', "memory"),
    ]:
        set_environment(task_dir, fragment)
        # NaN, infinity and negatives fail at load; sizes Docker cannot honour at the runner.
        with pytest.raises(TaskFormatError, match=message):
            resource_limits(HarborTask.load(task_dir))
    set_environment(task_dir, 'memory = "1.5G"')
    assert resource_limits(HarborTask.load(task_dir)).memory_mb == 1536


@pytest.mark.parametrize("section", ["agent", "verifier"])
@pytest.mark.parametrize("value", ["inf", "nan", "-5", "0"])
def test_timeouts_that_would_hang_or_never_run_are_refused(
    tmp_path: Path, section: str, value: str
) -> None:
    task_dir = copy_example(tmp_path)
    toml = (task_dir / "task.toml").read_text()
    toml = toml.replace(f"[{section}]\ntimeout_sec = ", f"[{section}]\ntimeout_sec = {value}\n#")
    (task_dir / "task.toml").write_text(toml)
    assert not math.isfinite(float(value)) or float(value) <= 0
    with pytest.raises(TaskFormatError, match="timeout_sec"):
        check_timeouts(HarborTask.load(task_dir))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    toml_bytes=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    instruction=st.binary(max_size=200),
)
def test_task_folder_with_random_bytes_loads_or_is_a_task_format_error(
    tmp_path_factory: pytest.TempPathFactory, toml_bytes: bytes, instruction: bytes
) -> None:
    task_dir = copy_example(tmp_path_factory.mktemp("fuzz"))
    (task_dir / "task.toml").write_bytes(toml_bytes)
    (task_dir / "instruction.md").write_bytes(instruction)
    with contextlib.suppress(TaskFormatError):  # a one-line error is a fine outcome
        HarborTask.load(task_dir)


@pytest.mark.parametrize("missing", ["task.toml", "instruction.md", "tests", "solution"])
def test_missing_pieces_are_named(tmp_path: Path, missing: str) -> None:
    task_dir = copy_example(tmp_path)
    target = task_dir / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(TaskFormatError, match=missing):
        HarborTask.load(task_dir)


def test_a_config_file_that_is_a_folder_is_a_task_format_error(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    (task_dir / "task.toml").unlink()
    (task_dir / "task.toml").mkdir()
    with pytest.raises(TaskFormatError, match="is a directory"):
        HarborTask.load(task_dir)


def test_a_symlink_loop_is_a_task_format_error(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    (task_dir / "task.toml").unlink()
    os.symlink("task.toml", task_dir / "task.toml")
    with pytest.raises(TaskFormatError):
        HarborTask.load(task_dir)


def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    (task_dir / "task.toml").unlink()
    os.mkfifo(task_dir / "task.toml")
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            HarborTask.load(task_dir)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(3)
    if loader.is_alive():
        with open(task_dir / "task.toml", "wb"):  # a writer that closes: the read sees EOF
            pass
        loader.join(5)
        pytest.fail("HarborTask.load blocked on a named pipe")
    assert isinstance(outcome[0], TaskFormatError)


def test_instruction_linked_to_a_host_file_is_refused(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    (task_dir / "instruction.md").unlink()
    os.symlink("/etc/passwd", task_dir / "instruction.md")
    with pytest.raises(TaskFormatError):
        HarborTask.load(task_dir)


def test_tests_folder_linked_outside_the_task_is_refused(tmp_path: Path) -> None:
    task_dir = copy_example(tmp_path)
    outside = tmp_path / "outside-tests"
    shutil.move(task_dir / "tests", outside)
    os.symlink(outside, task_dir / "tests")
    with pytest.raises(TaskFormatError):
        HarborTask.load(task_dir)


@pytest.mark.parametrize("folder", ["tests", "solution"])
def test_links_to_host_files_in_tests_or_solution_never_enter_the_archive(
    tmp_path: Path, folder: str
) -> None:
    task_dir = copy_example(tmp_path)
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret: do not ship")
    os.symlink("/etc/passwd", task_dir / folder / "passwd")
    os.symlink(secret, task_dir / folder / "secret.txt")
    os.symlink("..", task_dir / folder / "up")
    (task_dir / folder / "sub").mkdir()
    os.symlink("../../../../../../../etc/shadow", task_dir / folder / "sub" / "shadow")
    data = archive.pack_path(task_dir / folder, folder)
    with tarfile.open(fileobj=io.BytesIO(data)) as packed:
        names = packed.getnames()
        contents = b"".join(
            packed.extractfile(member).read()  # type: ignore[union-attr]
            for member in packed.getmembers()
            if member.isfile()
        )
    assert not any(name.endswith(("passwd", "secret.txt", "shadow", "/up")) for name in names)
    assert b"root:" not in contents and b"host secret" not in contents
    assert f"{folder}/sub" in names  # the folder itself still ships


def copy_example(tmp_path: Path) -> Path:
    target = tmp_path / "task"
    shutil.copytree(EXAMPLE, target, symlinks=True)
    return target


def set_environment(task_dir: Path, fragment: str) -> None:
    """Replace the example's cpus/memory lines of [environment] by ``fragment``."""
    text = (EXAMPLE / "task.toml").read_text()
    limits = "cpus = 1\nmemory_mb = 1024\n"
    assert limits in text
    (task_dir / "task.toml").write_text(text.replace(limits, fragment + "\n"))
