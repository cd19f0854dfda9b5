"""python -m harness.setup — get this machine ready to run kettle.

Idempotent and quiet when there is nothing to do: it starts (or installs) the Docker
engine, makes the base image (offline if need be), and with ``--harbor`` installs Harbor's
reference runner for cross-checks, and with ``--browser`` Chromium for the checks that HTML
reports render. Both README commands call it first.
"""

from __future__ import annotations

import typer
from rich.console import Console

from harness.cli import run_cli
from harness.machine.base_image import ensure_base_image
from harness.machine.browser import ensure_chromium
from harness.machine.docker import ensure_docker
from harness.machine.harbor import ensure_harbor
from harness.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    harbor: bool = typer.Option(False, "--harbor", help="Also install Harbor (Python 3.12 venv)."),
    browser: bool = typer.Option(
        False, "--browser", help="Also install Chromium (checks that HTML reports render)."
    ),
    rebuild_base: bool = typer.Option(False, "--rebuild-base", help="Rebuild the base image."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Start Docker, make the base image, optionally install Harbor."""
    console = Console(stderr=True)

    def report(message: str) -> None:
        console.print(f"[dim]setup:[/dim] {message}")

    def work() -> None:
        settings = Settings.from_env()
        engine = ensure_docker(settings, report)
        try:
            image = ensure_base_image(engine, settings, report, rebuild=rebuild_base)
            version = engine.client.version().get("Version", "?")
        finally:
            engine.close()
        extra = ""
        if harbor:
            python = ensure_harbor(settings, report)
            extra += f", harbor at {python}"
        if browser:
            extra += f", chromium at {ensure_chromium(report)}"
        console.print(
            f"[green]kettle is ready[/green]: docker {version}, base image {image}{extra}"
        )

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
