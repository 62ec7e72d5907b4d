"""`/status` on many SPECs: every row reachable in its cell at 120x40 and 80x24, and typing
goes on while the status is being collected."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from speckit.tui.queries import INDEX_LOCK
from speckit.tui.status_view import StatusCell
from tests.tui.helpers import make_workspace, messages, submit, wait_for

COUNT = 40  # more rows than either screen shows at once


def status_cells(app: SpeckitApp) -> list[StatusCell]:
    return [c for c in app.cells if isinstance(c, StatusCell)]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_status_cell_shows_every_spec(tmp_path: Path, size: tuple[int, int]) -> None:
    workspace, first = make_workspace(tmp_path / "ws")
    ids = [first] + [create_spec(workspace, f"Generated spec {n}")[0] for n in range(COUNT - 1)]
    (workspace.root / "docs" / ids[7] / "tasks.md").unlink()

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            await submit(pilot, "/status")
            await wait_for(pilot, lambda: bool(status_cells(app)))
            cell = status_cells(app)[-1]
            assert messages(app)[-1] is cell  # a message cell like any other: line, plain
            await pilot.pause()
            grid = cell.grid
            assert 2 < grid.size.height < COUNT  # it scrolls: 40 rows do not fit
            assert grid.line_text(0).startswith("SPEC ")  # the header, on top
            seen: list[str] = []
            for top in range(0, COUNT, grid.size.height - 2):
                grid.scroll_to(y=top, animate=False)
                await pilot.pause()
                for y in range(1, grid.size.height):
                    words = grid.line_text(y).split()
                    if words and words[0].startswith("SPEC-"):
                        seen.append(words[0])
                assert grid.line_text(0).startswith("SPEC ")  # the header stays
            assert sorted(set(seen)) == sorted(ids)
            grid.scroll_to(x=grid.max_scroll_x, animate=False)  # wider than 80 columns
            await pilot.pause()
            assert grid.line_text(0).split()[-1] == "cost"  # the last column is reachable
            plain = cell.plain.splitlines()
            assert plain[0] == "› /status"
            assert [line.split()[0] for line in plain[2 : 2 + COUNT]] == ids
            assert f"{ids[7]}: missing tasks.md" in plain
            assert cell.query(".status-notes")  # the notes are shown under the table

    asyncio.run(scenario())


def test_typing_goes_on_while_status_is_collected(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: bool(app.spec_ids))
            INDEX_LOCK.acquire()  # the status query waits here, as on a slow index
            try:
                await submit(pilot, "/status")
                await pilot.press(*"/help")
                assert app.query_one("#command").value == "/help"  # type: ignore[attr-defined]
                assert not status_cells(app)
            finally:
                INDEX_LOCK.release()
            await wait_for(pilot, lambda: bool(status_cells(app)))
            assert spec_id in status_cells(app)[-1].plain
            assert app.query_one("#command").value == "/help"  # type: ignore[attr-defined]

    asyncio.run(scenario())
