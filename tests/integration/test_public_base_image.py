"""A public base image the user names (KETTLE_BASE_IMAGE): completed with what kettle's agents
need (bash, tmux) when it lacks them, refused with the reason when it cannot be completed."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import SetupError
from harness.machine.base_image import COMPLETED_REPOSITORY, complete_for_agents
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.image import base_build_args
from harness.terminal import Terminal, TerminalConfig
from tests.conftest import TEST_RUN_ID


def _derived(engine: DockerEngine, base: str, *steps: str) -> str:
    """A new image (its own id) FROM ``base``: what a public image the user names would be."""
    tag = f"kettle-test/public:{uuid.uuid4().hex[:12]}"
    dockerfile = "\n".join([f"FROM {base}", *steps, f'LABEL org.kettle.test="{tag}"', ""])
    engine.client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    return tag


@pytest.fixture()
def plain_debian(docker_engine: DockerEngine, settings: Settings) -> Iterator[str]:
    """Debian without tmux (the root filesystem kettle's base image is made from)."""
    rootfs = settings.rootfs_image(settings.default_suite)
    if not docker_engine.image_exists(rootfs):
        pytest.fail(f"{rootfs} is missing: run `python -m harness.setup` first")
    image = _derived(docker_engine, rootfs)
    image_id = docker_engine.client.images.get(image).id.removeprefix("sha256:")[:16]
    yield image
    for name in (f"{COMPLETED_REPOSITORY}:{image_id}", image):
        if docker_engine.image_exists(name):
            docker_engine.client.images.remove(name, force=True)


def _public(settings: Settings, image: str, home: Path) -> Settings:
    return settings.model_copy(update={"base_image": image, "home": home})


def _has(engine: DockerEngine, image: str, tool: str) -> bool:
    script = f"command -v {tool} >/dev/null && echo yes || echo no"
    output = engine.client.containers.run(image, ["sh", "-c", script], remove=True)
    return output.decode().strip() == "yes"


def test_an_image_without_tmux_is_completed_once_and_an_agents_terminal_starts_in_it(
    docker_engine: DockerEngine, settings: Settings, plain_debian: str, tmp_path: Path
) -> None:
    public = _public(settings, plain_debian, tmp_path)
    assert not _has(docker_engine, plain_debian, "tmux")
    messages: list[str] = []
    completed = complete_for_agents(docker_engine, public, plain_debian, messages.append)
    assert completed.startswith(f"{COMPLETED_REPOSITORY}:") and completed != plain_debian
    assert any("lacks tmux" in message for message in messages)
    assert _has(docker_engine, completed, "tmux")
    again: list[str] = []
    assert complete_for_agents(docker_engine, public, plain_debian, again.append) == completed
    assert again == []  # made once: the second call builds nothing
    # A kettle task Dockerfile builds here from the completed image.
    dockerfile = "ARG BASE_IMAGE=kettle/base:bookworm\nFROM ${BASE_IMAGE}\n"
    assert base_build_args(docker_engine, public, dockerfile) == {"BASE_IMAGE": completed}
    spec = SandboxSpec(image=completed, run_id=TEST_RUN_ID, role="test", network="none")
    with docker_engine.start(spec) as box:
        terminal = Terminal(box, TerminalConfig(), workdir="/root")
        terminal.start()
        try:
            assert "completed-ok" in terminal.run("echo completed-ok\n", duration_sec=10).output
        finally:
            terminal.close()


def test_an_image_that_has_bash_and_tmux_is_used_as_it_is(
    docker_engine: DockerEngine, settings: Settings, base_image: str, tmp_path: Path
) -> None:
    public = _public(settings, base_image, tmp_path)
    completed = complete_for_agents(docker_engine, public, base_image, lambda line: None)
    try:
        same = docker_engine.client.images.get(completed).id
        assert same == docker_engine.client.images.get(base_image).id
    finally:
        docker_engine.client.images.remove(completed)  # the tag only: the base image stays


def test_an_image_that_cannot_be_completed_is_refused_saying_what_to_do(
    docker_engine: DockerEngine, settings: Settings, plain_debian: str, tmp_path: Path
) -> None:
    no_package_manager = _derived(
        docker_engine, plain_debian, "RUN rm -f /usr/bin/apt-get /usr/bin/apt"
    )
    try:
        with pytest.raises(SetupError) as refused:
            complete_for_agents(
                docker_engine, _public(settings, no_package_manager, tmp_path),
                no_package_manager, lambda line: None,
            )  # fmt: skip
        assert "lacks tmux" in str(refused.value)
        assert "no package manager" in str(refused.value)
        assert "KETTLE_BASE_IMAGE" in str(refused.value)
    finally:
        docker_engine.client.images.remove(no_package_manager, force=True)
