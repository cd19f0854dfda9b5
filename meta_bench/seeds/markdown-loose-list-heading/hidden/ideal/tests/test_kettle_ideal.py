"""Ideal control for markdown-loose-list-heading, written from the user's words only.

Public API only (markdown.markdown). Every item of a loose list whose items start with a
heading renders like the first item; the unindented form keeps rendering as a paragraph;
headings outside lists render as before. HTML is compared with whitespace collapsed.
"""

import re
import xml.etree.ElementTree as etree

import markdown
import pytest


def squash(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def list_items(html: str) -> list:
    root = etree.fromstring(f"<root>{html}</root>")
    lists = [child for child in root if child.tag in ("ul", "ol")]
    assert len(lists) == 1, html
    return [squash(etree.tostring(li, encoding="unicode")) for li in lists[0]]


def loose_list(item: str, count: int = 3, marker: str = "-") -> str:
    markers = [f"{n}." for n in range(1, count + 1)] if marker == "1." else [marker] * count
    return "\n\n".join(f"{m} {item}" for m in markers) + "\n"


def test_the_release_notes_render_both_items_alike() -> None:
    html = markdown.markdown(
        "- ### Parser\n    Faster startup.\n\n- ### Renderer\n    New themes.\n"
    )
    assert "<pre" not in html and "<code" not in html
    assert list_items(html) == [
        "<li><h3>Parser</h3><p>Faster startup.</p></li>",
        "<li><h3>Renderer</h3><p>New themes.</p></li>",
    ]


@pytest.mark.parametrize("marker", ["-", "*", "+", "1."])
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5, 6])
def test_every_item_renders_like_the_first(marker: str, level: int) -> None:
    item = "#" * level + " Renderer\n    New themes."
    items = list_items(markdown.markdown(loose_list(item, 4, marker)))
    assert items == [f"<li><h{level}>Renderer</h{level}><p>New themes.</p></li>"] * 4


UNDER_THE_HEADING = {
    "two lines": "### Renderer\n    New themes.\n    Dark mode.",
    "a lazy second line": "### Renderer\n    New themes.\nDark mode.",
    "emphasis": "### Renderer\n    *New* themes.",
    "a nested list": "### Renderer\n    New themes.\n    - dark\n    - light",
    "a code sample": "### Renderer\n        render(page)",
    "a paragraph after a blank line": "### Renderer\n    New themes.\n\n    Dark mode.",
    "a code block after a blank line": "### Renderer\n    New themes.\n\n        render(page)",
    "closing hashes": "### Renderer ###\n    New themes.",
}


@pytest.mark.parametrize("item", UNDER_THE_HEADING.values(), ids=UNDER_THE_HEADING.keys())
def test_more_under_the_heading_renders_like_the_first_item(item: str) -> None:
    items = list_items(markdown.markdown(loose_list(item)))
    assert items[1:] == [items[0]] * 2, items
    assert "<h3>Renderer</h3>" in items[0]


def test_paragraph_lines_under_the_heading_stay_a_paragraph() -> None:
    for item in ("### Renderer\n    New themes.\n    Dark mode.", "### Renderer\n    New themes.\nDark mode."):
        items = list_items(markdown.markdown(loose_list(item)))
        for rendered in items:
            assert rendered == "<li><h3>Renderer</h3><p>New themes. Dark mode.</p></li>", items


def test_unindented_line_under_the_heading_is_still_a_paragraph() -> None:
    html = markdown.markdown("- ### Parser\nFaster startup.\n\n- ### Renderer\nNew themes.\n")
    assert list_items(html) == [
        "<li><h3>Parser</h3><p>Faster startup.</p></li>",
        "<li><h3>Renderer</h3><p>New themes.</p></li>",
    ]


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("### Install\n    pip install kettle\n\nThen run it.\n",
         "<h3>Install</h3><pre><code>pip install kettle\n</code></pre><p>Then run it.</p>"),
        ("## Usage\n    kettle run\n    kettle test\n",
         "<h2>Usage</h2><pre><code>kettle run\nkettle test\n</code></pre>"),
        ("> ### Note\n>     keep = True\n",
         "<blockquote><h3>Note</h3><pre><code>keep = True\n</code></pre></blockquote>"),
        ("### Plain\nText right under it.\n", "<h3>Plain</h3><p>Text right under it.</p>"),
    ],
)
def test_headings_outside_lists_render_as_before(source: str, html: str) -> None:
    rendered = markdown.markdown(source)
    # the inside of a code block is compared exactly, the rest with whitespace collapsed
    assert re.findall(r"<code>(.*?)</code>", rendered, re.S) == re.findall(
        r"<code>(.*?)</code>", html, re.S
    )
    assert squash(rendered) == squash(html)
