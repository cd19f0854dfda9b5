"""What every kettle command does around its work: logging, signals, one-line errors."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from rich.console import Console

from harness.errors import KettleError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Library chatter (litellm, docker, urllib3) stays out of the user's terminal.
    for noisy in ("LiteLLM", "litellm", "httpx", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)


def _terminate_as_exit(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM becomes SystemExit so context managers (container teardown) still run.
    raise SystemExit(128 + signum)


def run_cli(work: Callable[[], None], *, debug: bool = False) -> None:
    """Run a command body; a KettleError becomes one line on stderr and a non-zero exit."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    configure_logging(debug)
    signal.signal(signal.SIGTERM, _terminate_as_exit)
    console = Console(stderr=True)
    try:
        work()
    except KettleError as error:
        if debug:
            console.print_exception()
        console.print(f"[bold red]error:[/bold red] {error}", soft_wrap=True, highlight=False)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]: containers of this run were removed")
        sys.exit(EXIT_INTERRUPTED)
