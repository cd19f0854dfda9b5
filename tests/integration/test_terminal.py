"""The tmux terminal: keystrokes in, only new output back, early return when idle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.errors import TerminalError
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.terminal import Terminal, TerminalConfig, _key_sequence


@pytest.fixture()
def terminal(sandbox: DockerSandbox) -> Iterator[Terminal]:
    term = Terminal(sandbox, TerminalConfig(max_output_bytes=2000), workdir="/root")
    term.start()
    yield term
    term.close()


def test_command_output_comes_back_with_the_command_line(terminal: Terminal) -> None:
    observation = terminal.run("echo hello-kettle\n", duration_sec=10)
    assert "echo hello-kettle" in observation.output
    assert "\nhello-kettle\n" in observation.output
    assert observation.became_idle


def test_idle_shell_returns_long_before_the_duration(terminal: Terminal) -> None:
    observation = terminal.run("true\n", duration_sec=30)
    assert observation.became_idle and observation.waited_sec < 5


def test_each_read_returns_only_new_output(terminal: Terminal) -> None:
    terminal.run("echo first-marker\n", duration_sec=5)
    second = terminal.run("echo second-marker\n", duration_sec=5)
    assert "second-marker" in second.output
    assert "first-marker" not in second.output


def test_busy_command_waits_the_full_duration_and_c_c_interrupts(terminal: Terminal) -> None:
    busy = terminal.run("sleep 1000\n", duration_sec=1.5)
    assert not busy.became_idle and busy.waited_sec >= 1.5
    interrupted = terminal.run("C-c", duration_sec=10)
    assert interrupted.became_idle and interrupted.waited_sec < 5
    assert terminal.run("echo alive\n", duration_sec=5).output.count("alive") == 2


def test_empty_keystrokes_poll_a_running_command(terminal: Terminal) -> None:
    terminal.run("sleep 2; echo finished-late\n", duration_sec=0.3)
    waited = terminal.run("", duration_sec=20)
    assert "finished-late" in waited.output and waited.became_idle


def test_long_output_is_truncated_head_and_tail_with_a_marker(terminal: Terminal) -> None:
    observation = terminal.run("seq 1 5000\n", duration_sec=10)
    assert observation.omitted_bytes > 0
    assert "output truncated" in observation.output
    assert "seq 1 5000" in observation.output  # the head says what ran
    assert "5000" in observation.output.splitlines()[-2]  # the tail says how it ended


def test_multiline_heredoc_runs_as_typed(terminal: Terminal) -> None:
    observation = terminal.run("cat > /tmp/f.txt <<'EOF'\nalpha\nbeta\nEOF\ncat /tmp/f.txt\n", 10)
    assert observation.became_idle
    assert observation.output.rstrip().splitlines()[-3:-1] == ["alpha", "beta"]


def test_control_d_ends_an_interactive_program(terminal: Terminal) -> None:
    terminal.run("cat\n", duration_sec=0.5)
    done = terminal.run("C-d", duration_sec=10)
    assert done.became_idle


def test_screen_after_clear_shows_current_state(terminal: Terminal) -> None:
    terminal.run("echo before\n", 5)
    terminal.run("clear\n", 5)
    after = terminal.run("echo after-clear\n", 5)
    assert "after-clear" in after.output and "before" not in after.output
    assert "after-clear" in terminal.screen()


def test_killed_tmux_is_reported_not_hung(terminal: Terminal, sandbox: DockerSandbox) -> None:
    sandbox.exec("tmux kill-server")
    with pytest.raises(TerminalError, match="terminal session is gone"):
        terminal.run("echo x\n", duration_sec=2)


def test_image_without_tmux_gets_a_clear_error(
    docker_engine: DockerEngine, base_image: str, test_run_id: str
) -> None:
    with docker_engine.start(SandboxSpec(image=base_image, run_id=test_run_id)) as box:
        box.exec("rm -f $(command -v tmux)")
        with pytest.raises(TerminalError, match="tmux and bash must be installed"):
            Terminal(box).start()


def test_key_names_are_sent_as_keys_and_text_literally() -> None:
    assert _key_sequence("C-c") == [("key", "C-c")]
    assert _key_sequence("ls -la\n") == [("text", "ls -la"), ("key", "Enter")]
    assert _key_sequence("echo C-c\n") == [("text", "echo C-c"), ("key", "Enter")]
    assert _key_sequence("a\nb") == [("text", "a"), ("key", "Enter"), ("text", "b")]
