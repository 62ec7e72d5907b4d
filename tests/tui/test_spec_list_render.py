"""The SPEC pane draws its lines itself (a resize over 1,000 SPECs must stay fast): what it
draws is what OptionList's own path would, cell for cell, at every width and highlight."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from speckit.tui.widgets import SpecList
from tests.tui.helpers import make_workspace, wait_for


def _cells(strip: object) -> list[tuple[str, object, object, bool, bool]]:
    """Each cell's character and what the eye sees of its style."""
    cells = []
    for segment in strip:  # type: ignore[attr-defined]
        style = segment.style
        for char in segment.text:
            cells.append((char, style.color, style.bgcolor, bool(style.bold), bool(style.dim)))
    return cells


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
def test_each_line_is_drawn_as_option_list_would(tmp_path: Path, size: tuple[int, int]) -> None:
    import asyncio

    workspace, _spec_id = make_workspace(tmp_path / "ws")
    create_spec(workspace, "A title long enough to be cut by a narrow pane " * 2)
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=size) as pilot:
            specs = app.query_one("#specs", SpecList)
            await wait_for(pilot, lambda: specs.option_count == 2)
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = specs.scrollable_content_region.width
            for index in range(specs.option_count):
                option = specs.get_option_at_index(index)
                for component in ("option-list--option", "option-list--option-highlighted"):
                    style = specs.get_visual_style("option-list--option", component)
                    ours = specs._get_option_render(option, style)
                    theirs = OptionList._get_option_render(specs, option, style)
                    assert len(ours) == len(theirs) == 1
                    assert ours[0].cell_length == theirs[0].cell_length == width
                    assert _cells(ours[0]) == _cells(theirs[0])
                    # a click finds its option (Textual's own `offset` is for text selection)
                    assert {s.style.meta["option"] for s in ours[0]} == {index}
                    assert {s.style.meta["option"] for s in theirs[0]} == {index}
            assert specs._strips  # the lines on screen came from the pane's own path
            long_line = specs._get_option_render(specs.get_option_at_index(1), style)[0]
            assert long_line.text.rstrip().endswith("…")  # a cut title says so

    asyncio.run(scenario())


def test_a_click_on_a_line_puts_its_spec_on_the_command_line(tmp_path: Path) -> None:
    """The lines drawn by the pane still carry their option: a click picks that SPEC."""
    import asyncio

    workspace, _spec_id = make_workspace(tmp_path / "ws")
    second, _row = create_spec(workspace, "Export CSV")
    app = SpeckitApp(workspace, env={})

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            specs = app.query_one("#specs", SpecList)
            await wait_for(pilot, lambda: specs.option_count == 2)
            index = specs.get_option_index(second)
            await pilot.click(SpecList, offset=(3, index))
            line = app.query_one("#command", Input)
            await wait_for(pilot, lambda: line.value == f"/spec-auto {second}")

    asyncio.run(scenario())
