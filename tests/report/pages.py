"""Reading a report page back as a browser would see its parts: links, text, chart bars."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote


class Page(HTMLParser):
    """Every link target, every element name and the text, from the page's HTML."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.chunks: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value for name, value in attrs if name == "href" and value]

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


def read(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def targets(page: Page, page_path: Path) -> set[Path]:
    """The files the page's relative links lead to (anchors left out)."""
    return {
        (page_path.parent / unquote(href)).resolve()
        for href in page.hrefs
        if not href.startswith("#")
    }


def figure(html: str, name: str) -> str:
    """The SVG of one chart (`<figure id=name>`), from a page or a dumped DOM."""
    match = re.search(rf'<figure id="{name}"[^>]*>(.*?)</figure>', html, re.S)
    assert match, f"no chart {name}"
    return match.group(1)


def bars(svg: str) -> int:
    """Bars pygal drew with some height (each value is one `rect` of class `rect
    reactive`; a stacked chart keeps a flat one where a series has no value)."""
    found = re.findall(r'<rect[^>]*class="rect reactive[^>]*>', svg)
    heights = [re.search(r'height="([0-9.e-]+)"', rect) for rect in found]
    return sum(1 for h in heights if h and float(h.group(1)) > 0.01)
