"""The command history outlives the session (in .speckit/), and never keeps /set-env values."""

from __future__ import annotations

import asyncio
from pathlib import Path

from speckit.tui.app import SpeckitApp
from speckit.tui.widgets import CommandLine, without_secrets
from tests.tui.helpers import SIZE, make_workspace, submit

SECRET = "sk-secret123"


def test_history_comes_back_in_the_next_session_without_set_env_values(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")
    saved = workspace.cache_dir / "tui_history"

    async def first_session() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, f"/set-env OPENAI_API_KEY={SECRET} MODE='a b'")
            await submit(pilot, "/status")
            command = app.query_one("#command", CommandLine)
            await pilot.press("up", "up")
            assert command.value == "/set-env OPENAI_API_KEY= MODE="  # names, no values
            assert SECRET not in " ".join(command.history)

    async def next_session() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            command = app.query_one("#command", CommandLine)
            command.focus()
            await pilot.press("up")
            assert command.value == "/status"
            await pilot.press("up")
            assert command.value == "/set-env OPENAI_API_KEY= MODE="

    asyncio.run(first_session())
    assert saved.read_text().splitlines() == ["/set-env OPENAI_API_KEY= MODE=", "/status"]
    assert SECRET not in saved.read_text()
    asyncio.run(next_session())
    del spec_id


def test_without_secrets_keeps_other_commands_and_survives_bad_quotes() -> None:
    assert without_secrets("/spec-plan SPEC-KIT-005 --from plan") == (
        "/spec-plan SPEC-KIT-005 --from plan"
    )
    assert without_secrets("/set-env TOKEN='unterminated") == "/set-env"
    assert without_secrets("/set-env") == "/set-env"
