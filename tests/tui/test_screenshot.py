"""The README's screenshot (docs/tui-halted.svg) is made at 80x24 and shows what a halt must
say on the smallest common terminal: the banner's head, why, what to do next, how to resume."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.tui.make_screenshot import shoot


def test_the_halted_screen_at_80x24_keeps_the_banner_readable(tmp_path: Path) -> None:
    out = tmp_path / "tui-halted.svg"
    screen = asyncio.run(shoot(out))
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    for shown in ("■ PIPELINE HALTED", "at tasks (exit", "why:", "next:", "resume:"):
        assert shown in screen, screen
    assert "KIT-005" in screen and "■ HALTED" in screen  # the SPEC pane marks it too
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "PIPELINE" in svg and "HALTED" in svg
