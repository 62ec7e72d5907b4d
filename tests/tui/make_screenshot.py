"""Write docs/tui-halted.svg: the TUI at 80x24 after `/spec-auto` halted on a conflict.

Run from the repository root:  python -m tests.tui.make_screenshot [OUT.svg]
Offline and deterministic apart from the timestamps in evidence names: scripted
agents in a temp workspace, Textual's headless pilot, `App.save_screenshot()`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from speckit.specs.documents import create_spec
from speckit.tui.app import SpeckitApp
from tests.tui.helpers import make_workspace, run_command
from tests.tui.screen_text import screen_lines

SCRIPT = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Token bucket per account in Redis", "429 with Retry-After", "Metrics for rejected logins"] } }

[stages.plan.gemini]
usage = { input_tokens = 5120, output_tokens = 812 }
answer = { final_plan = { work_breakdown = ["Token bucket per account in Redis", "429 with Retry-After", "Metrics for rejected logins"] } }

[stages.plan.claude]
usage = { input_tokens = 4980, output_tokens = 1034 }
cost_usd = 0.0304
answer = { final_plan = { work_breakdown = ["Token bucket per account in Redis", "429 with Retry-After", "Metrics for rejected logins"] } }

[stages.tasks.default]
usage = { input_tokens = 6100, output_tokens = 640 }
answer = { validated_tasks = ["Limiter middleware", "Redis bucket store"], consensus = { conflicts = ["lockout after 5 failures (claude) vs. exponential back-off only (gemini)"] } }
"""  # noqa: E501


SIZE = (80, 24)  # the smallest common terminal: the halt must read there


async def shoot(out: Path) -> str:
    """Write the screenshot to `out`; return the screen's text (what the SVG shows)."""
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "shop"
        agents: dict[str, dict[str, object]] = {
            "gemini": {"driver": "scripted", "script": "script.toml", "model": "gemini-2.5-pro"},
            "claude": {"driver": "scripted", "script": "script.toml", "model": "claude-sonnet-4-5"},
            "gpt_pro": {
                "driver": "scripted",
                "script": "script.toml",
                "model": "gpt-5",
                "role": "aggregator",
            },
        }
        workspace, _spec_id = make_workspace(root, script=SCRIPT, agents=agents)
        create_spec(workspace, "Audit log for admin actions")
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await run_command(pilot, "/spec-auto SPEC-KIT-005")
            await pilot.pause(0.3)
            app.save_screenshot(filename=out.name, path=str(out.parent))
            return "\n".join(screen_lines(app))


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui-halted.svg").resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
