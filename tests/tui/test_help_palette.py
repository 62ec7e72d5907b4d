"""`/help` fits the screen at 120x40 and wraps (never cuts a command) at 80x24; the command
palette (Ctrl+P) lists the slash commands and runs or prepares the chosen one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Group
from rich.text import Text

from speckit.tui import render
from speckit.tui.app import HELP_KEYS, SpeckitApp
from speckit.tui.commands import help_lines
from speckit.tui.palette import needs_argument
from speckit.tui.widgets import CommandLine
from tests.tui.helpers import make_workspace, messages, submit, wait_for
from tests.tui.screen_text import screen_lines


def _usages() -> list[str]:
    """What /help must show whole: each command's usage (the stages share one line)."""
    return [usage for usage, _ in render._stage_rows(help_lines())]


def test_help_fits_the_screen_at_120x40(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await submit(pilot, "/help")
            await pilot.pause(0.2)
            left = app.query_one("#spec-pane").outer_size.width
            screen = "\n".join(line[left:] for line in screen_lines(app))  # the history side
            assert "› /help" in screen  # its first line and its last are on screen together
            assert "Ctrl+P palette" in screen  # the last words of the help
            flat = " ".join(screen.split())
            for usage in _usages():
                first, *rest = usage.split()
                assert first in flat and all(word in flat for word in rest), usage
            assert "…" not in screen

    asyncio.run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_help_wraps_in_the_history_pane_and_cuts_no_command(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            await submit(pilot, "/help")
            cell = messages(app)[-1]
            await wait_for(pilot, lambda: cell.content_region.width > 0)
            width = cell.content_region.width
            shown = render.to_plain(
                Group(render.help_table(help_lines()), Text(HELP_KEYS)), width=width
            )
            lines = shown.splitlines()
            assert max(len(line) for line in lines) <= width
            assert "…" not in shown
            flat = " ".join(shown.split())
            for usage in _usages():
                assert " ".join(usage.split()) in flat or all(w in flat for w in usage.split())
                assert any(line.strip().startswith(usage.split()[0]) for line in lines), usage
            assert "/spec-STAGE SPEC" in flat and "STAGE: specify plan tasks" in flat

    asyncio.run(scenario())


def test_only_commands_with_a_required_argument_wait_for_one() -> None:
    assert needs_argument("/spec-plan SPEC [--consensus]")
    assert needs_argument('/new "description"')
    assert not needs_argument("/status [SPEC]")
    assert not needs_argument("/help")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_palette_lists_slash_commands_and_runs_or_prepares_them(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            command = app.query_one("#command", CommandLine)
            await pilot.press("ctrl+p", *"evidence-st")
            await wait_for(pilot, lambda: "/evidence-stats [SPEC]" in "\n".join(screen_lines(app)))
            await pilot.press("enter")  # no argument needed: it runs
            await wait_for(pilot, lambda: messages(app)[-1].plain.startswith("› /evidence-stats"))
            assert command.history[-1] == "/evidence-stats" and command.value == ""
            await pilot.press("ctrl+p", *"spec-pla")
            await wait_for(pilot, lambda: "/spec-plan SPEC" in "\n".join(screen_lines(app)))
            await pilot.press("enter")  # a SPEC is needed: the command waits in the line
            await wait_for(pilot, lambda: command.value == "/spec-plan ")
            assert len(app.screen_stack) == 1 and app.focused is command
            assert command.cursor_position == len("/spec-plan ")

    asyncio.run(scenario())
