"""The shared tables fit the width they are drawn at: names, verdicts, tokens and costs whole.

Rendered with Rich at real widths (60 to 200 columns), and once in the TUI at 120x40,
where they used to read `gemi… clau… $0.0…`.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console, RenderableType
from textual.geometry import Region
from textual.widgets import Static

from speckit.agents.result import AgentResult, Usage
from speckit.consensus.models import CandidateSummary, TestsSummary
from speckit.pipeline.status import StatusTable
from speckit.tui.app import SpeckitApp
from speckit.views import agent_table, candidate_table, status_grid
from tests.tui.helpers import make_workspace, run_command

WIDTHS = (60, 80, 100, 120, 200)
AGENTS = (
    ("gemini", "gemini-2.5-pro", "proposer", 0.0125),
    ("claude", "claude-sonnet-4-5-20250929", "proposer", 0.0311),
    ("gpt_pro", "gpt-5", "aggregator", 0.2047),
)


def render(renderable: RenderableType, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    lines = console.export_text(styles=False).splitlines()
    assert all(len(line.rstrip()) <= width for line in lines), lines
    return [line.rstrip() for line in lines]


def results() -> list[AgentResult]:
    return [
        AgentResult(
            agent=name,
            driver="scripted",
            model=model,
            role=role,
            status="ok",
            usage=Usage(input_tokens=12000, output_tokens=3400),
            latency_ms=81_500,
            cost_usd=cost,
            cost_source="reported",
        )
        for name, model, role, cost in AGENTS
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_agent_table_keeps_names_roles_verdicts_tokens_and_costs_whole(width: int) -> None:
    lines = render(agent_table(results(), {"claude": "invalid"}), width)
    assert not any("…" in line for line in lines), lines
    for name, _model, role, cost in AGENTS:
        row = next(line for line in lines if line.startswith(name + " "))
        verdict = "✖ invalid" if name == "claude" else "✔ ok"
        for cell in (role, verdict, "12000/3400", f"${cost:.4f}"):
            assert cell in row, (cell, row)


def test_agent_table_says_which_columns_a_narrow_terminal_leaves_out() -> None:
    wide = render(agent_table(results()), 200)
    assert wide[0].split() == [
        "agent", "role", "status", "model", "tokens", "in/out", "latency", "cost", "cost", "source"
    ]  # fmt: skip
    assert "claude-sonnet-4-5-20250929" in wide[2] and "81.5s" in wide[2]
    assert not any("synthesis JSON" in line for line in wide)
    # the cost source goes first, then the model, then the latency; the note names them
    assert render(agent_table(results()), 100)[-1] == (
        "cost source: in the synthesis JSON (no room here)"
    )
    # without the long model there is room for the cost source again
    at_80 = render(agent_table(results()), 80)
    assert at_80[-1] == "model: in the synthesis JSON (no room here)"
    assert "reported" in at_80[1] and "81.5s" in at_80[1]
    narrow = render(agent_table(results()), 56)
    note = "model, latency, cost source: in the synthesis JSON (no room here)"
    assert " ".join(narrow).endswith(note), narrow  # the note wraps at its spaces
    assert "81.5s" not in "\n".join(narrow)


def test_agent_table_narrower_than_its_key_columns_gives_rows_as_pairs() -> None:
    lines = render(agent_table(results()), 40)
    text = "\n".join(lines)
    assert "…" not in text
    assert [line for line in lines if not line.startswith(" ")] == ["gemini", "claude", "gpt_pro"]
    assert "cost $0.2047" in text and "tokens in/out 12000/3400" in text


def status() -> StatusTable:
    headers = ["SPEC", "tracker", "plan", "tasks", "implement", "validate", "audit", "unlock"]
    headers += ["guardrail", "tokens", "cost", "evidence"]
    rows = [
        ["SPEC-KIT-005-rate-limit-login", "In Progress", "✔ ok", "▲ degraded"]
        + ["·"] * 4
        + ["passed", "36000", "$0.2483", "12.3 KB"],
        ["SPEC-KIT-1000-export-the-audit-trail", "Backlog", "✖ conflict", "·"]
        + ["·"] * 4
        + ["·", "0", "$0.0000", "0 B"],
    ]
    return StatusTable(headers, rows, [])


@pytest.mark.parametrize("width", (80, 100, 120, 200))
@pytest.mark.parametrize("wrap", (True, False))
def test_status_grid_shortens_the_slug_first_and_never_cuts_ids_or_verdicts(
    width: int, wrap: bool
) -> None:
    lines = render(status_grid(status(), wrap=wrap), width)
    if not wrap and width == 80:  # one line per cell does not fit: pairs, nothing cut
        assert lines[0] == "SPEC-KIT-005-rate-limit-login"
        assert "tasks ▲ degraded" in "\n".join(lines)
        return
    text = "\n".join(lines)
    assert lines[0].startswith("SPEC ")
    rows = [line for line in lines if line.startswith("SPEC-KIT-")]
    assert len(rows) == 2, lines
    assert rows[0].startswith("SPEC-KIT-005-") and rows[1].startswith("SPEC-KIT-1000")
    for line in lines:  # only a slug may end in an ellipsis
        assert "…" not in line or line.startswith("SPEC-KIT-"), line
        assert line.count("…") <= 1 and "…" not in line.split()[1:], line
    assert "$0.2483" in rows[0] and "$0.0000" in rows[1]
    assert "✔ ok" in rows[0] and "✖" in rows[1]
    assert "▲" in rows[0] and "degraded" in text
    if width == 200:
        assert rows[1].startswith("SPEC-KIT-1000-export-the-audit-trail ")
        assert "In Progress" in rows[0] and "12.3 KB" in rows[0]
    if width == 120:  # the slug gave way before the tracker and the guardrail
        assert "…" in rows[0] and "In Progress" in rows[0] and "passed" in rows[0]
        assert lines[-1] == "evidence: in speckit status --json (no room here)"


def test_status_grid_at_80_columns_wraps_a_verdict_rather_than_cut_it() -> None:
    lines = render(status_grid(status(), wrap=True), 80)
    assert lines[1].startswith("SPEC-KIT-005-…") or lines[1].startswith("SPEC-KIT-005…")
    assert "✔ ok" in lines[1] and "$0.2483" in lines[1]
    assert "▲" in lines[1] and "degraded" in lines[2]  # on two lines, not `▲ deg…`
    assert (
        lines[-1] == "tracker, guardrail, tokens, evidence: in speckit status --json (no room here)"
    )


def test_candidate_table_wraps_a_reason_at_spaces_and_keeps_tests_and_winner() -> None:
    green = TestsSummary(command=["pytest"], exit_code=0, passed=12, failed=0, green=True)
    candidates = [
        CandidateSummary(
            agent="claude", status="ok", files=["a.py", "b.py"], added=12, removed=3,
            tests=green, winner=True,
        ),
        CandidateSummary(
            agent="gemini", status="rejected", files=["a.py"], added=1, removed=0,
            reason="edited files outside its worktree: /etc/passwd and setup.cfg",
        ),
    ]  # fmt: skip
    for width in (60, 80, 120):
        lines = render(candidate_table(candidates), width)
        text = "\n".join(lines)
        assert "…" not in text
        assert "✔ 12 passed, 0 failed" in text and "★ winner" in text and "not tested" in text
        reason = "edited files outside its worktree: /etc/passwd and setup.cfg"
        assert all(word in text.split() for word in reason.split()), text
    assert render(candidate_table(candidates), 60)[-1] == (
        "files, +/-: in the synthesis JSON (no room here)"
    )


def test_tui_at_120_columns_shows_whole_agent_names_and_costs(tmp_path: Path) -> None:
    roster: dict[str, dict[str, object]] = {
        name: {"driver": "scripted", "script": "script.toml", "model": model, "role": role}
        for name, model, role, _cost in AGENTS
    }
    script = """\
[stages.plan.default]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test the limiter"] } }
usage = { input_tokens = 12000, output_tokens = 3400 }
cost_usd = 0.0125
"""
    workspace, _spec_id = make_workspace(tmp_path / "ws", script, roster)

    async def scenario() -> list[str]:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(120, 40)) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            await pilot.pause()
            shown: list[str] = []
            for static in cell.query(Static):
                if static.size.area:
                    region = Region(0, 0, static.size.width, static.size.height)
                    shown += [strip.text for strip in static.render_lines(region)]
            return shown

    shown = asyncio.run(scenario())
    for name, _model, _role, _cost in AGENTS:
        row = next((line for line in shown if line.startswith(name + " ")), None)
        assert row is not None, shown
        assert "$0.0125" in row and "12000/3400" in row and "…" not in row, row
