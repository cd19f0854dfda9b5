"""Shared fixtures: a Docker engine, sandboxes on kettle's base image, and a leak check.

Docker tests do not skip when the engine is missing: the README's test command starts it,
and a suite that silently skips its integration tests would pass while testing nothing.
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# A run's start-up cleanup would remove the dead-owner containers that the cleanup tests plant
# on the other worker; only the tests in the serial group below turn it back on.
os.environ["KETTLE_REAP_AT_START"] = "0"

from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings

# Fixtures shared across test folders (pytest finds them because conftest imports them).
from tests.fixtures.disk import small_disk  # noqa: F401
from tests.fixtures.example_build import example_build  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TASKS = REPO_ROOT / "examples" / "tasks"
# One run id per process: each pytest-xdist worker labels (and cleans up) its own.
TEST_RUN_ID = f"pytest-{os.getpid()}"


def hears_ctrl_c() -> None:
    """``preexec_fn`` for a child a test will send Ctrl-C: under a shell's background job (a
    CI runner, ``cmd &``) children inherit SIGINT ignored, and Python then never raises
    KeyboardInterrupt; the default disposition makes the child hear it as a terminal's."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.docker)
        if "e2e" in parts:
            item.add_marker(pytest.mark.docker)
            item.add_marker(pytest.mark.e2e)
    # The serial group is the suite's longest chain (one worker runs it in turn): it starts
    # first, then the modules that run whole on one worker, so the single tests at the end
    # fill the workers evenly.
    items.sort(key=lambda item: _schedule_rank(item.nodeid))


def _schedule_rank(nodeid: str) -> int:
    if _in_serial_group(nodeid):
        return 0
    return 1 if _shares_a_module_fixture(nodeid.split("::")[0]) else 2


@functools.cache
def _shares_a_module_fixture(test_file: str) -> bool:
    """A module whose tests share a module-scoped fixture (a build, a validation run) runs
    whole on one worker: split across two, each worker would pay for the fixture."""
    path = REPO_ROOT / test_file
    return path.is_file() and 'scope="module"' in path.read_text(encoding="utf-8")


def _in_serial_group(nodeid: str) -> bool:
    return nodeid.startswith(SERIAL_TESTS)


# Tests that must not run beside each other run on one xdist worker, in turn: Ray clusters
# claim this machine's Ray ports, and the cleanup tests plant dead-owner containers that
# another test's cleanup would take. (xdist's own xdist_group marker cannot do this under
# pytest 9: it renames a test's nodeid through an attribute pytest 9 no longer reads.)
SERIAL_TESTS = (
    "tests/e2e/test_ray_",
    "tests/integration/test_gc.py",
    "tests/integration/test_sandbox.py::test_reaper_",
    "tests/e2e/test_build_resume.py::test_a_run_killed_mid_validation_",
)


class _SerialGroup(LoadScopeScheduling):
    """xdist's load scheduling: the serial tests in one unit of work, each module with a
    shared module fixture in one, every other test on its own."""

    def _split_scope(self, nodeid: str) -> str:
        if _in_serial_group(nodeid):
            return "serial"
        test_file = nodeid.split("::")[0]
        return test_file if _shares_a_module_fixture(test_file) else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> _SerialGroup:
    return _SerialGroup(config, log)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    engine = DockerEngine.connect()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def base_image(docker_engine: DockerEngine, settings: Settings) -> str:
    if not docker_engine.image_exists(settings.base_image):
        pytest.fail(f"{settings.base_image} is missing: run `python -m harness.setup` first")
    return settings.base_image


@pytest.fixture()
def sandbox(docker_engine: DockerEngine, base_image: str) -> Iterator[DockerSandbox]:
    spec = SandboxSpec(image=base_image, run_id=TEST_RUN_ID, role="test", network="bridge")
    with docker_engine.start(spec) as box:
        yield box


@pytest.fixture()
def test_run_id() -> str:
    return TEST_RUN_ID


_LEAKS_KEY = "kettle_leaks"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any test left a container, snapshot, network or volume behind.

    Under pytest-xdist each worker checks what it labelled and hands the list to the
    controller (``pytest_testnodedown``), which fails the run: a worker's exit status alone
    would not reach the final result.
    """
    reported = session.config.stash.get(_collected_leaks, [])
    if reported:
        print(f"\nLEAK: tests left {len(reported)} kettle resource(s): {', '.join(reported)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    try:
        engine = DockerEngine.connect()
    except Exception:  # no Docker: unit-only runs have nothing to check
        return
    label = [f"org.kettle.run={TEST_RUN_ID}"]
    try:
        leaked = [
            f"container {c.get('Names', ['?'])[0]}" for c in engine.kettle_containers(TEST_RUN_ID)
        ]
        engine.reap_orphans(run_id=TEST_RUN_ID, everything=True)
        for image in engine.kettle_snapshots(TEST_RUN_ID):
            leaked.append(f"snapshot image {str(image['Id'])[:19]}")
            engine.remove_image(str(image["Id"]))
        for network in engine.api.networks(filters={"label": label}):
            leaked.append(f"network {network['Name']}")
            engine.api.remove_network(network["Id"])
        for volume in engine.api.volumes(filters={"label": label}).get("Volumes") or []:
            leaked.append(f"volume {volume['Name']}")
            engine.api.remove_volume(volume["Name"], force=True)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_LEAKS_KEY] = leaked
        elif leaked:
            print(f"\nLEAK: tests left {len(leaked)} kettle resource(s): {', '.join(leaked)}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        engine.close()


_collected_leaks = pytest.StashKey[list[str]]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """(xdist controller) a worker finished: keep what it found left behind."""
    leaked = getattr(node, "workeroutput", {}).get(_LEAKS_KEY) or []
    config = node.config  # type: ignore[attr-defined]
    config.stash[_collected_leaks] = [*config.stash.get(_collected_leaks, []), *leaked]
