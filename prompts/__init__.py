"""Role prompts: markdown templates rendered with jinja2. Prompts live only here."""

from __future__ import annotations

from importlib import resources

import jinja2

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("prompts", "."),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


def render(name: str, **variables: object) -> str:
    """Render ``prompts/<name>.md`` with the given variables (a missing variable is an error)."""
    return _ENVIRONMENT.get_template(f"{name}.md").render(**variables)


def available() -> list[str]:
    return sorted(
        entry.name.removesuffix(".md")
        for entry in resources.files("prompts").iterdir()
        if entry.name.endswith(".md")
    )
