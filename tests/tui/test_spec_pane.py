"""The SPEC pane: one line per SPEC in number order, the halt marker always whole, a `/`
filter, and a width the user chooses (or no pane at all), at 80x24 and 120x40."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from speckit.tui.widgets import SpecList, SpecPane
from tests.tui.helpers import (
    make_workspace,
    process_alive,
    run_command,
    sleeper_agent,
    submit,
    wait_for,
)
from tests.tui.screen_text import screen_lines

SIZES = [(80, 24), (120, 40)]
EXTRA = [
    ("SPEC-KIT-1000-audit-trail", "Audit trail"),
    ("SPEC-KIT-100-export-csv", "Export CSV"),
    ("SPEC-KIT-105-import-csv", "Import CSV"),
]


def _workspace(tmp_path: Path, filler: int) -> SpeckitApp:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    for spec_id, title in EXTRA:
        create_spec(workspace, title, spec_id=spec_id)
    for number in range(filler):
        create_spec(workspace, f"Generated spec number {number}")
    return SpeckitApp(workspace, env={})


@pytest.mark.parametrize("size", SIZES)
def test_one_line_per_spec_in_number_order_and_the_halt_stays_whole(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = _workspace(tmp_path, filler=30)  # more SPECs than rows: a scrollbar

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            await run_command(pilot, "/spec-auto SPEC-KIT-005")  # halts at tasks (conflict)
            specs = app.query_one("#specs", SpecList)
            await wait_for(pilot, lambda: "HALTED" in str(specs.get_option_at_index(0).prompt))
            await pilot.pause()
            ids = specs.shown_ids
            assert len(ids) == 34
            assert ids.index("SPEC-KIT-100-export-csv") < ids.index("SPEC-KIT-105-import-csv")
            assert ids.index("SPEC-KIT-105-import-csv") < ids.index("SPEC-KIT-1000-audit-trail")
            assert specs.virtual_size.height == 34  # one line each: nothing wraps
            assert specs.show_vertical_scrollbar
            pane_rows = [
                line[: app.query_one(SpecPane).outer_size.width] for line in screen_lines(app)
            ]
            assert "34" in pane_rows[0]  # the count in the border
            halted = pane_rows[1]
            assert "KIT-005 ✔✖···· ■ HALTED " in halted, pane_rows[:3]
            for row in pane_rows[2:8]:
                assert row.startswith("│ KIT-") and "·····" in row

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_slash_filters_by_id_or_title_live_and_esc_clears(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = _workspace(tmp_path, filler=3)

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            specs = app.query_one("#specs", SpecList)
            pane = app.query_one(SpecPane)
            await wait_for(pilot, lambda: len(specs.shown_ids) == 7)
            specs.focus()
            await pilot.press("slash")
            assert pane.filter_open and app.focused is app.query_one("#spec-filter")
            await pilot.press(*"csv")
            assert specs.shown_ids == ["SPEC-KIT-100-export-csv", "SPEC-KIT-105-import-csv"]
            assert pane.border_title == "SPECs 2 of 7"
            await pilot.press("space", *"imp")  # every word must match
            assert specs.shown_ids == ["SPEC-KIT-105-import-csv"]
            assert "SPECs 1 of 7" in screen_lines(app)[0]
            await pilot.press(*"ortx")
            assert specs.shown_ids == [] and "no SPEC matches" in str(
                specs.get_option_at_index(0).prompt
            )
            await pilot.press("escape")
            assert not pane.filter_open and app.focused is specs
            assert len(specs.shown_ids) == 7 and pane.border_title == "SPECs (7)"
            await pilot.press("slash", *"kit-1000", "enter")  # by id; Enter goes to the list
            assert specs.shown_ids == ["SPEC-KIT-1000-audit-trail"] and app.focused is specs
            await pilot.press("enter")  # and Enter there prepares the run, as before
            assert app.query_one("#command").value == "/spec-auto SPEC-KIT-1000-audit-trail"

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES)
def test_ctrl_b_hides_the_pane_and_brackets_change_its_width(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = _workspace(tmp_path, filler=0)

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            pane = app.query_one(SpecPane)
            history = app.query_one("#history")
            await pilot.pause()
            width, history_width = pane.outer_size.width, history.outer_size.width
            assert width >= 32
            app.query_one("#specs").focus()
            await pilot.press("right_square_bracket")
            await pilot.pause()
            assert pane.outer_size.width == width + 4
            assert history.outer_size.width == history_width - 4
            for _ in range(5):
                await pilot.press("left_square_bracket")
            await pilot.pause()
            assert pane.outer_size.width == 30  # the narrowest that keeps ■ HALTED whole
            await pilot.press("ctrl+b")  # hidden: the history takes the width, focus leaves
            await pilot.pause()
            assert not pane.display and history.outer_size.width == size[0]
            assert app.focused is app.query_one("#command")
            await pilot.press("ctrl+b")
            await pilot.pause()
            assert pane.display and pane.outer_size.width == 30

    asyncio.run(scenario())


def test_esc_in_the_filter_during_a_run_clears_the_filter_not_the_run(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sleeper, pid_file = sleeper_agent(root)
    boss: dict[str, object] = {"driver": "scripted", "script": "script.toml", "role": "aggregator"}
    workspace, _spec_id = make_workspace(root, agents={**sleeper, "boss": boss})
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await submit(pilot, "/spec-plan SPEC-KIT-005")
            await wait_for(pilot, pid_file.is_file)
            specs = app.query_one("#specs", SpecList)
            specs.focus()
            await pilot.press("slash", *"zzz")
            assert specs.shown_ids == []
            await pilot.press("escape")  # closes the filter: the run goes on
            assert not app.query_one(SpecPane).filter_open and len(specs.shown_ids) == 1
            assert app.control is not None and not app.control.cancelled
            await pilot.press("escape")  # nothing open, the line is empty: now it cancels
            assert app.control is None or app.control.cancelled
            agent_pid = int(pid_file.read_text().split()[0])
            await wait_for(pilot, lambda: not process_alive(agent_pid), limit=15)

    asyncio.run(scenario())
