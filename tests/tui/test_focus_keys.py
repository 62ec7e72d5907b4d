"""Focus is visible and never swallows typing: the focused pane's border lights up, the
footer names the focus keys, PgUp/PgDn/Home/End scroll the history from the command line,
and printable keys typed in a pane land in the command line (but the pane's own keys)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.containers import VerticalScroll

from speckit.tui.app import SpeckitApp
from speckit.tui.widgets import CommandLine, SpecList
from tests.tui.helpers import make_workspace, run_command, submit, wait_for
from tests.tui.screen_text import screen_lines

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES)
def test_the_focused_pane_has_another_border_and_the_footer_names_the_keys(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            history = app.query_one("#history", VerticalScroll)
            pane = app.query_one("#spec-pane")
            await pilot.pause()
            assert app.focused is app.query_one("#command", CommandLine)
            history_idle, pane_idle = history.styles.border_top, pane.styles.border_top
            await pilot.press("shift+tab")  # back from the command line: the history
            await pilot.pause()
            assert history.has_focus
            assert history.styles.border_top != history_idle
            assert pane.styles.border_top == pane_idle
            await pilot.press("shift+tab")
            await pilot.pause()
            assert app.query_one("#specs", SpecList).has_focus
            assert pane.styles.border_top != pane_idle
            assert history.styles.border_top == history_idle
            await pilot.press("ctrl+l")
            assert app.focused is app.query_one("#command", CommandLine)
            footer = screen_lines(app)[-1]
            for shown in ("shift+tab Prev pane", "^l Command", "^b SPECs", "^q Quit"):
                assert shown in footer, footer

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_page_keys_scroll_the_history_while_the_command_line_keeps_the_focus(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            for _ in range(4):
                await submit(pilot, "/help")
            history = app.query_one("#history", VerticalScroll)
            command = app.query_one("#command", CommandLine)
            await wait_for(pilot, lambda: history.max_scroll_y > 2 * history.size.height)
            await wait_for(pilot, lambda: history.scroll_y == history.max_scroll_y)
            bottom = history.scroll_y
            await pilot.press("pageup")
            await pilot.pause()
            assert history.scroll_y < bottom and app.focused is command
            up = history.scroll_y
            await pilot.press("pageup", "pagedown")
            await pilot.pause()
            assert history.scroll_y == up
            await pilot.press("home")  # an empty line: Home goes to the top of the history
            await pilot.pause()
            assert history.scroll_y == 0
            await pilot.press("end")
            await pilot.pause()
            assert history.scroll_y == history.max_scroll_y
            await pilot.press(*"/stat", "home")  # in a line, Home moves the cursor first
            await pilot.pause()
            assert command.cursor_position == 0 and history.scroll_y == history.max_scroll_y
            await pilot.press("end", "end")
            assert command.cursor_position == len("/stat")
            assert app.focused is command

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_keys_typed_in_a_pane_go_to_the_command_line_but_the_panes_own_keys(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            command = app.query_one("#command", CommandLine)
            specs = app.query_one("#specs", SpecList)
            specs.focus()
            await pilot.press(*"/st")  # `/` is the pane's filter key; the rest is typed there
            assert app.query_one("#spec-filter").has_focus
            await pilot.press("escape")
            assert specs.has_focus
            await pilot.press(*"st")
            assert command.has_focus and command.value == "st"
            app.query_one("#history").focus()
            await pilot.press(*"at", "space")
            assert command.has_focus and command.value == "stat "
            cell.focus()
            app.copy_to_clipboard("")
            await pilot.press("c")  # a run's own key: copies its paths
            assert app.clipboard.endswith("telemetry.jsonl") and cell.has_focus
            await pilot.press("x")
            assert command.has_focus and command.value == "stat x"
            assert command.cursor_position == len("stat x")

    asyncio.run(scenario())
