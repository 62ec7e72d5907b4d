"""What a TUI screen shows, as plain text lines (the pilot has no terminal to read)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App[None]) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]
