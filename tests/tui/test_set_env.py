"""In the TUI, an agent's env in speckit.toml beats the shell's, and /set-env beats both."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from speckit.tui.app import SpeckitApp
from tests.tui.helpers import SIZE, make_workspace, run_command, submit

REPORTER = (
    "import json, os\n"
    "url = os.environ.get('ANTHROPIC_BASE_URL', 'unset')\n"
    "print(json.dumps({'final_plan': {'work_breakdown': [url]}}))\n"
)


def test_set_env_beats_the_agents_env_which_beats_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")  # the shell's value
    reporter: dict[str, object] = {"driver": "command", "command": [sys.executable, "-c", REPORTER]}
    boss: dict[str, object] = {"driver": "scripted", "script": "script.toml", "role": "aggregator"}
    workspace, spec_id = make_workspace(tmp_path / "ws", agents={"echo": reporter, "boss": boss})
    config = workspace.root / "speckit.toml"
    toml_env = '[agents.echo]\nenv = { ANTHROPIC_BASE_URL = "http://127.0.0.1:8765" }'
    config.write_text(config.read_text().replace("[agents.echo]", toml_env))
    folder = workspace.root / "evidence" / "consensus" / spec_id

    read: set[Path] = set()

    def seen() -> str:
        """What the echo agent saw in the run that just ended (two runs in one second are
        `<ts>_echo.json` and `<ts>-2_echo.json`, which do not sort in run order)."""
        (newest,) = set(folder.glob("spec-plan_*_echo.json")) - read
        read.add(newest)
        return str(json.loads(newest.read_text())["final_plan"]["work_breakdown"][0])

    async def scenario() -> None:
        app = SpeckitApp(workspace)  # runs inherit this process's environment
        async with app.run_test(size=SIZE) as pilot:
            await run_command(pilot, f"/spec-plan {spec_id}")
            assert seen() == "http://127.0.0.1:8765"
            await submit(pilot, "/set-env ANTHROPIC_BASE_URL=http://127.0.0.1:9999")
            await run_command(pilot, f"/spec-plan {spec_id}")
            assert seen() == "http://127.0.0.1:9999"

    asyncio.run(scenario())
