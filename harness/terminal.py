"""A tmux session inside a sandbox, driven the way Terminus drives a shell.

The model's keystrokes go to tmux verbatim (tmux key names such as ``C-c`` are sent as
keys; a newline presses Enter). After sending, the terminal waits up to the requested
duration but returns as soon as the shell is idle again: the shell owns the terminal's
foreground process group and has drawn a new prompt since the keys were sent. Each read
returns only the output that appeared since the previous read, head+tail truncated.
"""

from __future__ import annotations

import re
import shlex
import time

from pydantic import BaseModel

from harness.errors import TerminalError
from harness.sandbox.records import Sandbox
from harness.text import truncate_middle

_STATE_DIR = "/tmp/.kettle"
_PROMPT_FILE = f"{_STATE_DIR}/prompts"
# Runs before every prompt: bumps a counter the harness reads to know a command finished.
_PROMPT_COMMAND = (
    "__kettle_n=$((__kettle_n+1)); "
    f"{{ mkdir -p {_STATE_DIR} && echo $__kettle_n > {_PROMPT_FILE}; }} 2>/dev/null"
)
_KEY_NAME = re.compile(
    r"^(?:[CMS]-.{1,2}|Enter|Escape|Tab|BTab|BSpace|Space|Up|Down|Left|Right|Home|End|"
    r"PageUp|PageDown|PPage|NPage|IC|DC|F(?:[1-9]|1[0-2]))$"
)
_KEYS_THAT_END_A_COMMAND = {"C-c", "C-d", "C-z", "C-\\", "Enter", "C-m", "C-j"}
_LITERAL_CHUNK = 2048
# Keys longer than this are sent in their own exec (each argument must stay under the
# kernel's 128 KiB limit once folded into one shell script).
_FOLDED_SEND_LIMIT = 32 * 1024


class TerminalConfig(BaseModel):
    session: str = "kettle"
    width: int = 160
    height: int = 40
    history_limit: int = 50_000
    shell: str = "bash --login"
    max_output_bytes: int = 10_000
    poll_interval_sec: float = 0.1
    start_timeout_sec: float = 15.0


class TerminalObservation(BaseModel):
    """What the model sees after one command."""

    output: str
    omitted_bytes: int = 0
    became_idle: bool
    waited_sec: float


class _PaneState(BaseModel):
    history_size: int
    cursor_y: int
    shell_in_foreground: bool
    prompts: int

    @property
    def absolute_line(self) -> int:
        return self.history_size + self.cursor_y


class Terminal:
    """One tmux session in one sandbox."""

    def __init__(
        self,
        sandbox: Sandbox,
        config: TerminalConfig | None = None,
        *,
        user: str | None = None,
        workdir: str | None = None,
    ) -> None:
        self._sandbox = sandbox
        self.config = config or TerminalConfig()
        self._user = user
        self._workdir = workdir
        self._read_from_line = 0
        self._tracks_prompts = True

    def start(self) -> None:
        """Start tmux with a login shell and wait for its first prompt."""
        check = self._exec("command -v tmux >/dev/null && command -v bash >/dev/null")
        if not check.ok:
            raise TerminalError(
                "tmux and bash must be installed in the image to give an agent a terminal",
                "add `tmux` and `bash` to the task's Dockerfile (kettle's base image has both)",
            )
        config = self.config
        self._exec(
            f"mkdir -p {_STATE_DIR} && printf '%s\\n' "
            f"'set -g history-limit {config.history_limit}' 'set -g status off' "
            f"'set -sg escape-time 0' > {_STATE_DIR}/tmux.conf"
        )
        workdir = ["-c", self._workdir] if self._workdir else []
        argv = [
            "env", "-u", "KETTLE_EXEC_ID", f"PROMPT_COMMAND={_PROMPT_COMMAND}",
            "tmux", "-f", f"{_STATE_DIR}/tmux.conf", "new-session", "-d",
            "-s", config.session, "-x", str(config.width), "-y", str(config.height),
            *workdir, config.shell,
        ]  # fmt: skip
        started = self._sandbox.exec(argv, timeout_sec=30, user=self._user)
        if not started.ok:
            raise TerminalError(f"tmux did not start: {(started.stderr or started.stdout).strip()}")
        deadline = time.monotonic() + config.start_timeout_sec
        state = self._pane_state()
        while state.prompts < 1 and time.monotonic() < deadline:
            time.sleep(config.poll_interval_sec)
            state = self._pane_state()
        # A profile that overwrites PROMPT_COMMAND hides prompts from us; fall back to
        # watching the foreground process and the screen instead.
        self._tracks_prompts = state.prompts >= 1
        self._read_from_line = state.absolute_line

    def send_keys(self, keystrokes: str) -> None:
        """Type ``keystrokes``: key names as keys, text literally, each newline as Enter."""
        if not keystrokes:
            return
        sent = self._sandbox.exec(self._send_argv(keystrokes), timeout_sec=30, user=self._user)
        if not sent.ok:
            raise TerminalError(f"tmux send-keys failed: {(sent.stderr or sent.stdout).strip()}")

    def run(self, keystrokes: str, duration_sec: float) -> TerminalObservation:
        """Send keystrokes, wait up to ``duration_sec`` (less if the shell goes idle), read."""
        started = time.monotonic()
        before = self._state_then_send(keystrokes)
        expects_prompt = "\n" in keystrokes or keystrokes.strip() in _KEYS_THAT_END_A_COMMAND
        idle = self._wait_until_idle(before, duration_sec, expects_prompt)
        output, omitted = self.read_new()
        return TerminalObservation(
            output=output,
            omitted_bytes=omitted,
            became_idle=idle,
            waited_sec=round(time.monotonic() - started, 3),
        )

    def _send_argv(self, keystrokes: str) -> list[str]:
        argv = ["tmux"]
        for kind, value in _key_sequence(keystrokes):
            if argv[-1] != "tmux":
                argv.append(";")
            argv += ["send-keys", "-t", self.config.session]
            argv += [value] if kind == "key" else ["-l", "--", value]
        return argv

    def _state_then_send(self, keystrokes: str) -> _PaneState:
        """The pane's state just before the keys land, in the same round trip as sending."""
        if not keystrokes or len(keystrokes) > _FOLDED_SEND_LIMIT:
            state = self._pane_state()
            self.send_keys(keystrokes)
            return state
        send = shlex.join(self._send_argv(keystrokes))
        result = self._exec(f"{_state_script(self.config.session)} && {send}")
        state = _parse_state(result.stdout.splitlines()[:1])  # a dead session fails here
        if not result.ok:
            problem = (result.stderr or result.stdout).strip()
            raise TerminalError(f"tmux send-keys failed: {problem}")
        return state

    def read_new(self) -> tuple[str, int]:
        """Output since the previous read (from the line the cursor was on), truncated."""
        session = shlex.quote(self.config.session)
        # The start line is worked out in the shell so that state and capture agree.
        script = (
            f"{_state_script(self.config.session)} && "
            f"start=$(({self._read_from_line} - $hist)); "
            # Older lines fell out of tmux's history: start at the oldest one kept.
            '[ "$start" -lt "$((0 - hist))" ] && start=$((0 - hist)); '
            # The screen was cleared or reset: show what is there now.
            '[ "$start" -gt "$cy" ] && start=0; '
            f'tmux capture-pane -p -J -t {session} -S "$start" -E "$cy"'
        )
        result = self._exec(script)
        lines = result.stdout.split("\n")
        state = _parse_state(lines[:1] if result.ok else [])
        self._read_from_line = state.absolute_line
        return truncate_middle(_tidy(lines[1:]), self.config.max_output_bytes)

    def screen(self) -> str:
        """The visible screen right now (used to confirm completion)."""
        return self._tmux_capture(0, self.config.height - 1)

    def close(self) -> None:
        self._exec(f"tmux kill-session -t {shlex.quote(self.config.session)} 2>/dev/null || true")

    def _wait_until_idle(
        self, before: _PaneState, duration_sec: float, expects_prompt: bool
    ) -> bool:
        deadline = time.monotonic() + max(duration_sec, 0.0)
        previous_line = before.absolute_line
        stable_polls = 0
        # Most commands finish within milliseconds: look again soon, then back off.
        interval = min(0.02, self.config.poll_interval_sec)
        while True:
            state = self._pane_state()
            if state.shell_in_foreground:
                if self._tracks_prompts:
                    if state.prompts != before.prompts or not expects_prompt:
                        return True
                else:
                    # Without prompt tracking: idle once output stops moving for a moment.
                    stable_polls = stable_polls + 1 if state.absolute_line == previous_line else 0
                    if stable_polls >= 3:
                        return True
            previous_line = state.absolute_line
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
            interval = min(interval * 2, self.config.poll_interval_sec)

    def _pane_state(self) -> _PaneState:
        for _attempt in range(3):
            result = self._exec(_state_script(self.config.session))
            if result.ok and len(result.stdout.split()) == 5:
                return _parse_state(result.stdout.splitlines()[:1])
        return _parse_state([])

    def _tmux_capture(self, start: int, end: int) -> str:
        session = shlex.quote(self.config.session)
        result = self._exec(f"tmux capture-pane -p -J -t {session} -S {start} -E {end}")
        if not result.ok:
            raise TerminalError(f"tmux capture-pane failed: {result.stderr.strip()}")
        return _tidy(result.stdout.split("\n"))

    def _exec(self, script: str):
        return self._sandbox.exec(["sh", "-c", script], timeout_sec=30, user=self._user)


def _state_script(session: str) -> str:
    """Shell that sets pane, hist, cy, fg (foreground process group) and n (prompts seen),
    and prints them on one line."""
    quoted = shlex.quote(session)
    return (
        f'state=$(tmux display-message -p -t {quoted} "#{{pane_pid}} #{{history_size}} '
        f'#{{cursor_y}}") || exit 3; set -- $state; pane=$1; hist=$2; cy=$3; '
        'set -- $(cut -d")" -f2- /proc/$pane/stat); fg=$6; '
        # The prompt file is briefly empty while the shell rewrites it; read again then.
        f'n=$(cat {_PROMPT_FILE} 2>/dev/null); [ -n "$n" ] || '
        f"{{ sleep 0.02; n=$(cat {_PROMPT_FILE} 2>/dev/null); }}; n=${{n:-0}}; "
        'echo "$pane $hist $cy $fg $n"'
    )


def _parse_state(first_line: list[str]) -> _PaneState:
    fields = first_line[0].split() if first_line else []
    if len(fields) != 5:
        raise TerminalError(
            "the terminal session is gone (tmux exited or the container stopped)",
            "the agent may have killed tmux or the shell; the run cannot continue",
        )
    pane_pid, history_size, cursor_y, foreground_group, prompts = fields
    return _PaneState(
        history_size=int(history_size),
        cursor_y=int(cursor_y),
        shell_in_foreground=foreground_group == pane_pid,
        prompts=int(prompts) if prompts.isdigit() else 0,
    )


def _tidy(lines: list[str]) -> str:
    """Captured lines without trailing blanks, newline-terminated."""
    stripped = [line.rstrip() for line in lines]
    while stripped and not stripped[-1]:
        stripped.pop()
    return "\n".join(stripped) + ("\n" if stripped else "")


def _key_sequence(keystrokes: str) -> list[tuple[str, str]]:
    """Split keystrokes into ('key', name) and ('text', literal) pieces for tmux send-keys."""
    stripped = keystrokes.strip()
    if _KEY_NAME.match(stripped):
        pieces = [("key", stripped)]
        if keystrokes.endswith("\n") and stripped not in ("Enter",):
            pieces.append(("key", "Enter"))
        return pieces
    pieces: list[tuple[str, str]] = []
    lines = keystrokes.split("\n")
    for index, line in enumerate(lines):
        for offset in range(0, len(line), _LITERAL_CHUNK):
            pieces.append(("text", line[offset : offset + _LITERAL_CHUNK]))
        if index < len(lines) - 1:
            pieces.append(("key", "Enter"))
    return pieces
