"""The trial container holds: capabilities, limits, user, network, no Docker socket, no host
secrets; the verifier sees the agent's outcome and nothing else of the agent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.runner.hardening import DROPPED_CAPABILITIES, trial_sandbox_spec
from harness.runner.records import SolveOutcome, TrialOptions, TrialResult
from harness.runner.solvers import CommandSolver, OracleSolver, SolverContext
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.sandbox.ownership import LABEL_RUN
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tests.conftest import EXAMPLE_TASKS

REQSTATS = "reqstats-sort-and-gzip"
# Root keeps what package managers need; everything else is gone.
KEPT = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"}
CAP_BITS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
    "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13,
    "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_ADMIN": 21, "MKNOD": 27, "AUDIT_WRITE": 29,
    "SETFCAP": 31,
}  # fmt: skip


def copy_task(tmp_path: Path, name: str = REQSTATS) -> Path:
    target = tmp_path / "tasks" / name
    shutil.copytree(EXAMPLE_TASKS / name, target)
    return target


def edit_toml(task_dir: Path, old: str, new: str) -> None:
    path = task_dir / "task.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in task.toml"
    path.write_text(text.replace(old, new, 1))


def trial(
    task_dir: Path,
    solver,
    tmp_path: Path,
    engine: DockerEngine,
    run_id: str,
    options: TrialOptions | None = None,
    name: str = "trial",
) -> TrialResult:
    return run_trial(
        engine,
        TaskImages(engine, Settings.from_env()),
        HarborTask.load(task_dir),
        solver,
        tmp_path / name,
        run_id=run_id,
        build_log=tmp_path / "build.log",
        options=options,
    )


def agent_log(tmp_path: Path, solver_name: str, name: str = "trial") -> str:
    return (tmp_path / name / "agent" / f"{solver_name}.txt").read_text()


def test_trial_container_drops_capabilities_and_keeps_the_tasks_limits(
    docker_engine: DockerEngine, tmp_path: Path, test_run_id: str
) -> None:
    task = HarborTask.load(EXAMPLE_TASKS / REQSTATS)
    image = TaskImages(docker_engine, Settings.from_env()).ensure(task, tmp_path / "build.log")
    spec = trial_sandbox_spec(task, image, test_run_id, role="trial")
    with docker_engine.start(spec) as box:
        host = docker_engine.api.inspect_container(box.id)["HostConfig"]
        assert host["Memory"] == 1024 * 1024 * 1024 and host["NanoCpus"] == 1_000_000_000
        assert host["PidsLimit"] == 1024 and "no-new-privileges:true" in host["SecurityOpt"]
        assert set(host["CapDrop"]) >= {f"CAP_{c}" for c in DROPPED_CAPABILITIES} or set(
            host["CapDrop"]
        ) >= set(DROPPED_CAPABILITIES)
        status = box.exec("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status").stdout
        effective = int(re.search(r"CapEff:\s+([0-9a-f]+)", status).group(1), 16)  # type: ignore[union-attr]
        held = {name for name, bit in CAP_BITS.items() if effective >> bit & 1}
        assert held == KEPT
        assert "NoNewPrivs:\t1" in status
        denied = box.exec(
            "mknod /tmp/dev c 1 3 2>&1; chroot / true 2>&1; "
            "python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' 2>&1"
        )
        assert denied.stdout.count("Operation not permitted") >= 3, denied.stdout


def test_package_managers_work_as_root_without_the_dropped_capabilities(
    docker_engine: DockerEngine, base_image: str, test_run_id: str
) -> None:
    task = HarborTask.load(EXAMPLE_TASKS / REQSTATS)
    spec = trial_sandbox_spec(task, base_image, test_run_id, role="packages")
    with docker_engine.start(spec) as box:
        apt = box.exec(
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends jq >/dev/null "
            "&& jq --version",
            timeout_sec=300,
        )
        assert apt.ok, apt.stderr[-2000:]
        pip = box.exec(
            "python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --no-deps six==1.16.0 "
            "&& /tmp/v/bin/python -c 'import six; print(six.__version__)'",
            timeout_sec=300,
        )
        assert pip.ok and pip.stdout.strip().endswith("1.16.0"), pip.stderr[-2000:]


def test_offline_agent_has_no_dns_no_route_and_no_raw_ip_access(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    probe = CommandSolver(
        "net",
        "getent hosts pypi.org >/dev/null && echo dns-ok || echo dns-blocked; "
        "curl -sS -m 5 -o /dev/null https://pypi.org/simple/ "
        "&& echo https-ok || echo https-blocked; "
        "timeout 5 bash -c 'exec 3<>/dev/tcp/151.101.0.223/443' 2>/dev/null "
        "&& echo rawip-ok || echo rawip-blocked; "
        "timeout 5 bash -c 'exec 3<>/dev/tcp/172.17.0.1/2375' 2>/dev/null "
        "&& echo gateway-ok || echo gateway-blocked; "
        "pip download -q --no-deps -d /tmp/dl six >/dev/null 2>&1 "
        "&& echo pip-ok || echo pip-blocked",
    )  # fmt: skip
    offline = trial(copy_task(tmp_path), probe, tmp_path, docker_engine, test_run_id, name="off")
    log = agent_log(tmp_path, "net", "off")
    for what in ("dns", "https", "rawip", "gateway", "pip"):
        assert f"{what}-blocked" in log, log
    assert offline.error is None

    # The positive control: the same probe with the agent's network allowed reaches PyPI,
    # so the blocked lines above are the policy, not a machine without network.
    online_task = copy_task(tmp_path / "online")
    edit_toml(online_task, "agent_internet = false", "agent_internet = true")
    trial(online_task, probe, tmp_path, docker_engine, test_run_id, name="on")
    online_log = agent_log(tmp_path, "net", "on")
    assert "dns-ok" in online_log and "https-ok" in online_log, online_log


@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_no_phase_of_a_trial_sees_the_docker_socket(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str, mode: str
) -> None:
    task_dir = copy_task(tmp_path)
    (task_dir / "tests" / "test.sh").write_text(
        "#!/bin/bash\nmkdir -p /logs/verifier\n"
        "ls -la /var/run/docker.sock /run/docker.sock > /logs/verifier/socket.txt 2>&1\n"
        "grep -c docker.sock /proc/self/mountinfo >> /logs/verifier/socket.txt\n"
        "echo 0 > /logs/verifier/reward.txt\n"
    )
    probe = CommandSolver(
        "socket", "ls -la /var/run/docker.sock /run/docker.sock 2>&1; grep -c docker.sock "
        "/proc/self/mountinfo; find / -xdev -name 'docker.sock' 2>/dev/null | wc -l",
    )  # fmt: skip
    trial(task_dir, probe, tmp_path, docker_engine, test_run_id, TrialOptions(verifier_mode=mode))
    for text in (
        agent_log(tmp_path, "socket"),
        (tmp_path / "trial/verifier/socket.txt").read_text(),
    ):
        assert text.count("No such file or directory") == 2, text
        assert "srw" not in text
    assert agent_log(tmp_path, "socket").split("\n")[3:5] == ["0", "0"]


def test_non_root_agent_user_cannot_write_where_the_verifier_writes(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = copy_task(tmp_path)  # its [agent] user is "agent", who owns /app
    probe = CommandSolver(
        "as-user",
        "id -un; mkdir -p /logs/verifier 2>&1 || echo no-verifier-dir; "
        "echo 1 > /logs/verifier/reward.txt 2>&1 || echo no-reward; "
        "touch /logs/agent/mine && echo agent-logs-writable; "
        "mkdir /tests 2>&1 || echo no-tests-dir; "
        "ls /root 2>&1 || echo no-root-home; "
        "su -c id root </dev/null 2>&1 || echo no-su",
    )
    result = trial(task_dir, probe, tmp_path, docker_engine, test_run_id)
    log = agent_log(tmp_path, "as-user")
    assert log.splitlines()[1] == "agent"
    for line in ("no-verifier-dir", "no-reward", "agent-logs-writable", "no-tests-dir"):
        assert line in log, log
    assert "no-root-home" in log and "no-su" in log
    assert result.reward == 0.0 and not (
        result.verifier_result and result.verifier_result.tampering
    )

    oracle = trial(task_dir, OracleSolver(), tmp_path, docker_engine, test_run_id, name="oracle")
    assert oracle.reward == 1.0, "a non-root agent can still solve the task it owns"


class EnvironmentSpy:
    """Wraps a solver; when it finishes, looks for the host's secrets inside the container
    (every process's environment, read from the host; every file, as the container's root)."""

    def __init__(self, inner, secrets: list[str], engine: DockerEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.secrets = secrets
        self.engine = engine
        self.environ_dump = ""
        self.files_with_secrets = ""

    def _environments(self, container_id: str) -> str:
        # Read from the host: the trial's root lacks SYS_PTRACE (it cannot read the agent
        # user's /proc/*/environ) and no-new-privileges refuses a privileged exec.
        listing = self.engine.client.api.top(container_id, ps_args="-o pid")
        pids = [row[0] for row in listing["Processes"]]
        return "\n".join(
            Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode(errors="replace")
            for pid in pids
            if Path(f"/proc/{pid}/environ").exists()
        )

    def solve(self, context: SolverContext) -> SolveOutcome:
        outcome = self.inner.solve(context)
        box = context.sandbox
        self.environ_dump = self._environments(box.id)
        patterns = [arg for secret in self.secrets for arg in ("-e", secret)]
        self.files_with_secrets = box.exec(
            ["grep", "-r", "-l", "-s", "-F", *patterns, "/", "--exclude-dir=proc",
             "--exclude-dir=sys", "--exclude-dir=dev"],
            user="0",
            timeout_sec=300,
        ).stdout  # fmt: skip
        return outcome


def test_host_secrets_never_enter_the_container_during_a_terminus_trial(
    tmp_path: Path,
    docker_engine: DockerEngine,
    test_run_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.llm import LiteLLMModel, ModelSpec
    from harness.loop import Budgets
    from harness.runner.terminus import TerminusSolver
    from harness.scripted_server import Script, ScriptedServer
    from tests.scripting import FAST_RETRY, PRICED_MODEL, done_twice, turn

    secrets = {
        "OPENAI_API_KEY": "sk-kettle-fake-openai-5f1e2d3c4b5a6978",
        "ANTHROPIC_API_KEY": "sk-ant-kettle-fake-0a1b2c3d4e5f6789",
        "GITHUB_TOKEN": "ghp_kettleFakeToken0123456789abcdef",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    turns = [
        turn("env | sort > /tmp/agent-env.txt; cat /proc/1/environ | tr '\\0' '\\n'\n"),
        turn("grep -r -l -s -i -e api_key -e token /etc /root /app | head\n"),
        *done_twice(),
    ]
    with ScriptedServer(Script(turns=turns)) as server:

        def make_model() -> LiteLLMModel:
            return LiteLLMModel(ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=FAST_RETRY)

        spy = EnvironmentSpy(
            TerminusSolver(make_model, Budgets(max_steps=10)), list(secrets.values()), docker_engine
        )
        result = trial(copy_task(tmp_path), spy, tmp_path, docker_engine, test_run_id)
    assert result.error is None and result.agent_result and result.agent_result.steps >= 3
    # The model call carried the key (host side), so the spy is looking for live values.
    headers = {key.lower(): value for key, value in server.request_headers[0].items()}
    assert headers["authorization"].endswith(secrets["OPENAI_API_KEY"])
    assert "PATH=" in spy.environ_dump and "TMUX" in spy.environ_dump  # the agent's shell is seen
    for name, value in secrets.items():
        assert value not in spy.environ_dump, f"{name} is in a container process's environment"
        assert name not in spy.environ_dump
    assert spy.files_with_secrets.strip() == "", spy.files_with_secrets
    trajectory = (tmp_path / "trial" / "agent" / "trajectory.json").read_text()
    assert not any(value in trajectory for value in secrets.values())


@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_verifier_sees_the_agents_files_but_none_of_its_processes(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str, mode: str
) -> None:
    task_dir = copy_task(tmp_path)
    (task_dir / "tests" / "test.sh").write_text(
        "#!/bin/bash\nmkdir -p /logs/verifier\nps -eo args > /logs/verifier/ps.txt\n"
        "cat /app/marker > /logs/verifier/marker.txt\n"
        "cat /proc/self/cgroup | head -1 > /logs/verifier/cgroup.txt\n"
        "echo 1 > /logs/verifier/reward.txt\n"
    )
    agent = CommandSolver(
        "leaves-a-daemon",
        "echo agent-was-here > /app/marker; cat /proc/self/cgroup | head -1; "
        "nohup setsid sleep 12345 >/dev/null 2>&1 & sleep 0.2; "
        "ps -eo args | grep -c '^sleep 12345'",
    )
    result = trial(
        task_dir, agent, tmp_path, docker_engine, test_run_id, TrialOptions(verifier_mode=mode)
    )
    assert result.reward == 1.0 and result.verifier_mode == mode
    verifier_dir = tmp_path / "trial" / "verifier"
    assert "sleep 12345" not in (verifier_dir / "ps.txt").read_text()
    assert (verifier_dir / "marker.txt").read_text().strip() == "agent-was-here"
    agent_cgroup = agent_log(tmp_path, "leaves-a-daemon").splitlines()[1]
    same_container = agent_cgroup == (verifier_dir / "cgroup.txt").read_text().strip()
    assert same_container == (mode == "shared")
    assert not docker_engine.kettle_snapshots(test_run_id), "the snapshot image is removed"


def test_a_separate_verifier_gets_a_fresh_image_and_only_the_tasks_artifacts(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = copy_task(tmp_path)  # artifacts = ["/app"], as Harbor hands them over
    (task_dir / "tests" / "test.sh").write_text(
        "#!/bin/bash\nmkdir -p /logs/verifier\n"
        "cat /app/marker > /logs/verifier/marker.txt 2>&1\n"
        "ls /tmp/outside-app > /logs/verifier/outside.txt 2>&1\n"
        "stat -c %U /app/marker > /logs/verifier/owner.txt\n"
        "echo 1 > /logs/verifier/reward.txt\n"
    )
    agent = CommandSolver(
        "writes-two-places", "echo agent-was-here > /app/marker; echo x > /tmp/outside-app"
    )
    result = trial(task_dir, agent, tmp_path, docker_engine, test_run_id)
    assert result.verifier_mode == "separate" and result.reward == 1.0
    verifier_dir = tmp_path / "trial" / "verifier"
    assert (verifier_dir / "marker.txt").read_text().strip() == "agent-was-here"
    assert "No such file" in (verifier_dir / "outside.txt").read_text()
    assert (verifier_dir / "owner.txt").read_text().strip() == "agent"  # owners are kept
    assert not docker_engine.kettle_snapshots(test_run_id), "no snapshot: a fresh image"


def test_task_can_ask_for_a_separate_verifier_and_its_snapshot_is_labelled(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = copy_task(tmp_path)  # environment_mode = "separate" ...
    edit_toml(task_dir, 'artifacts = ["/app"]\n', "")  # ... naming no artifacts: a snapshot
    result = trial(
        task_dir, OracleSolver(), tmp_path, docker_engine, test_run_id,
        TrialOptions(keep_snapshot=True),
    )  # fmt: skip
    assert result.verifier_mode == "separate" and result.reward == 1.0
    snapshots = docker_engine.kettle_snapshots(test_run_id)
    try:
        assert len(snapshots) == 1
        labels = snapshots[0]["Labels"]
        assert labels[LABEL_RUN] == test_run_id and labels["org.kettle.role"] == "snapshot"
        assert labels["org.kettle.task"] == REQSTATS and labels["org.kettle.owner"]
    finally:
        for snapshot in snapshots:
            docker_engine.remove_image(str(snapshot["Id"]))


# A naive verifier for reqstats, the kind a hurried author writes: it trusts `diff`.
NAIVE_REQSTATS_TEST = """#!/bin/bash
mkdir -p /logs/verifier
/app/bin/reqstats /tests/fixtures/day1.log > /tmp/day1.out
if diff -q /tmp/day1.out /tests/fixtures/day1.expected; then
    echo 1 > /logs/verifier/reward.txt
else
    echo 0 > /logs/verifier/reward.txt
fi
"""


def test_tool_tampering_is_undone_and_reported_and_harbor_mode_shows_the_hole(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    fake_diff = CommandSolver(
        "fake-diff",
        "printf '#!/bin/sh\\nexit 0\\n' > /usr/bin/diff; "
        "printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/diff; chmod +x /usr/local/bin/diff",
    )
    task_dir = copy_task(tmp_path)
    edit_toml(task_dir, 'user = "agent"\n', "")  # only a root agent can write /usr/bin
    (task_dir / "tests" / "test.sh").write_text(NAIVE_REQSTATS_TEST)
    guarded = trial(task_dir, fake_diff, tmp_path, docker_engine, test_run_id, name="guarded")
    assert guarded.reward == 0.0
    tampering = "\n".join(guarded.verifier_result.tampering)  # type: ignore[union-attr]
    assert "/usr/bin/diff" in tampering and "restored from the image" in tampering
    assert "/usr/local/bin/diff" in tampering and "removed" in tampering

    # Harbor's shared semantics (what validation uses to probe a verifier alone):
    # the faked diff makes the naive verifier pass — a hole only the runner closed above.
    harbor = TrialOptions(stop_agent_processes=False, restore_tools=False, verifier_mode="shared")
    exposed = trial(task_dir, fake_diff, tmp_path, docker_engine, test_run_id, harbor, "harbor")
    assert exposed.reward == 1.0

    # The example's own verifier compares in bash and needs no diff: it holds even there.
    hardened = copy_task(tmp_path / "hardened")
    edit_toml(hardened, 'user = "agent"\n', "")
    held = trial(hardened, fake_diff, tmp_path / "hardened", docker_engine, test_run_id, harbor)
    assert held.reward == 0.0


def test_nothing_a_trial_creates_outlives_it(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    run_id = f"{test_run_id}-hygiene"
    before_networks = _networks_not_composed(docker_engine)
    before_volumes = _volumes_not_composed(docker_engine)
    for mode in ("shared", "separate"):
        trial(copy_task(tmp_path / mode), OracleSolver(), tmp_path / mode, docker_engine, run_id,
              TrialOptions(verifier_mode=mode))  # fmt: skip
    assert docker_engine.kettle_containers(run_id) == []
    assert docker_engine.kettle_snapshots(run_id) == []
    assert _networks_not_composed(docker_engine) <= before_networks
    assert _volumes_not_composed(docker_engine) <= before_volumes
    record = json.loads((tmp_path / "separate" / "trial" / "result.json").read_text())
    assert record["verifier_mode"] == "separate" and record["reward"] == 1.0


@pytest.mark.parametrize("fix_first, expected", [(False, 0.0), (True, 1.0)])
def test_an_agent_that_stops_its_own_container_is_still_judged_on_its_outcome(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str, fix_first: bool, expected: float
) -> None:
    """Killing the container's main process must not turn a trial into an unscored error
    (an error is left out of the mean reward; a 0 is not)."""
    task_dir = copy_task(tmp_path)
    edit_toml(task_dir, 'user = "agent"\n', "")  # a root agent: only it can kill PID 1
    solve = task_dir / "solution" / "solve.sh"
    if not fix_first:
        solve.write_text("#!/bin/bash\ntrue\n")
    # The oracle's script, then the sabotage: kill the process that keeps the container up.
    solve.write_text(solve.read_text() + "\nkill -9 $(pgrep -o -x tail)\nsleep 5\n")
    result = trial(task_dir, OracleSolver(), tmp_path, docker_engine, test_run_id)
    assert result.agent_result is not None
    assert result.agent_result.status in ("failed", "error"), "the sabotage happened"
    assert result.error is None, result.error
    assert result.reward == expected
    assert docker_engine.kettle_containers(test_run_id) == []


# Harbor's tests on the other xdist worker start compose projects meanwhile; their networks
# and volumes carry compose's label and are not the trial's.
COMPOSE_PROJECT = "com.docker.compose.project"


def _networks_not_composed(engine: DockerEngine) -> set[str]:
    return {n["Id"] for n in engine.api.networks() if COMPOSE_PROJECT not in (n["Labels"] or {})}


def _volumes_not_composed(engine: DockerEngine) -> set[str]:
    volumes = engine.api.volumes().get("Volumes") or []
    return {v["Name"] for v in volumes if COMPOSE_PROJECT not in (v.get("Labels") or {})}
