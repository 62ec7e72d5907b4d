"""What the implement and cost issues add, shown in the run cell: the documents a stage
wrote, the run's spend at its end, and which tier decided an escalated consensus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from speckit.tui.app import SpeckitApp
from tests.tui.helpers import make_workspace, run_command
from tests.tui.test_live_rows import ROSTER

SCRIPT = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test the limiter"] } }
cost_usd = 0.0125
[stages.plan.gamma]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test the limiter"] } }
"""


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_documents_spend_and_the_deciding_tier_are_in_the_cell(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws", script=SCRIPT, agents=ROSTER)
    config = workspace.root / "speckit.toml"
    text = config.read_text(encoding="utf-8")
    assert 'mode = "panel"' in text
    text = text.replace('mode = "panel"', 'mode = "escalate"')
    text = text.replace(
        '[stages.plan]\nagents = ["alpha", "beta", "gamma", "boss"]\n',
        '[stages.plan]\nagents = ["alpha", "beta", "gamma", "boss"]\nfirst = ["alpha", "beta"]\n',
    )
    config.write_text(text, encoding="utf-8")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            lines = cell.plain.splitlines()
            assert lines[0] == "› /spec-plan SPEC-KIT-005   ✔ ok", cell.plain
            assert f"document:  docs/{spec_id}/plan.md" in lines
            assert "tier: decided by the first tier (alpha, beta); not called: gamma" in lines
            # alpha, beta and boss answered at $0.0125 each; gamma was never called
            assert lines[-1] == "spent: $0.04 for 3 agent answers"

    asyncio.run(scenario())


def test_unknown_prices_are_said_not_counted_as_zero(tmp_path: Path) -> None:
    script = SCRIPT.replace("cost_usd = 0.0125\n", "")
    workspace, _spec_id = make_workspace(tmp_path / "ws", script=script, agents=ROSTER)

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(80, 24)) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            last = cell.plain.splitlines()[-1]
            assert last == "spent: $— for 4 agent answers (4 without a known price)"
            assert "tier:" not in cell.plain  # a panel run has no tier

    asyncio.run(scenario())
