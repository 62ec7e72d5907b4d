"""`speckit cost`: spend and tokens per SPEC, stage, agent and day from the evidence index,
answer-cache hits and escalations avoided, and what is left of each cap; no agent runs.

Scripted agents report `cost_usd` in their script entries, so every figure is exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from speckit.evidence.naming import utc_timestamp
from speckit.specs.documents import create_spec
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace, make_scripted

# plan: three $0.50 answers of 1,000 in / 200 out tokens; tasks: three $0.25 answers.
SCRIPT = AGREE.replace(
    "usage = { input_tokens = 1000, output_tokens = 200 }",
    "usage = { input_tokens = 1000, output_tokens = 200 }\ncost_usd = 0.5",
).replace(
    'answer = { validated_tasks = ["T1 limiter", "T2 429 response"] }',
    'answer = { validated_tasks = ["T1 limiter", "T2 429 response"] }\n'
    "usage = { input_tokens = 500, output_tokens = 100 }\ncost_usd = 0.25",
)


@pytest.fixture
def spent(tmp_path: Path, cli: CliRunner) -> tuple[ScriptedWorkspace, str]:
    """Two SPECs: the first ran plan and tasks ($1.50 + $0.75), the second plan ($1.50)."""
    scripted = make_scripted(tmp_path / "ws", SCRIPT)
    other, _line = create_spec(scripted.workspace, "Audit log export")
    config = scripted.root / "speckit.toml"
    config.write_text(
        config.read_text().replace(
            "\nwarn_at = 0.8\n", "\nstage_usd = 5\nspec_usd = 3\ndaily_usd = 10\nwarn_at = 0.8\n"
        )
    )
    scripted.commit()
    for stage, spec in (("plan", scripted.spec_id), ("tasks", scripted.spec_id), ("plan", other)):
        done = cli("run", stage, spec, "--allow-dirty", cwd=scripted.root)
        assert done.returncode == 0, done.stdout + done.stderr
    return scripted, other


def _cost(cli: CliRunner, scripted: ScriptedWorkspace, *args: str) -> dict[str, Any]:
    done = cli("cost", *args, "--json", cwd=scripted.root)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_cost_per_spec_stage_agent_and_day(
    cli: CliRunner, spent: tuple[ScriptedWorkspace, str]
) -> None:
    scripted, other = spent
    first = scripted.spec_id
    today = utc_timestamp()[:10]

    per_spec = _cost(cli, scripted)
    assert per_spec["by"] == "spec"
    rows = {row["key"]: row for row in per_spec["rows"]}
    assert rows[first]["cost_usd"] == 2.25 and rows[first]["runs"] == 2
    assert rows[first]["calls"] == 6
    assert rows[other]["cost_usd"] == 1.5
    total = per_spec["total"]
    assert (total["cost_usd"], total["runs"], total["calls"]) == (3.75, 3, 9)
    assert (total["prompt_tokens"], total["completion_tokens"]) == (7500, 1500)
    assert total["total_tokens"] == 9000 and total["unknown_cost"] == 0
    assert (total["cache_hits"], total["escalations_avoided"]) == (0, 0)

    per_stage = _cost(cli, scripted, first)  # a SPEC given: per stage by default
    assert per_stage["by"] == "stage"
    assert {row["key"]: row["cost_usd"] for row in per_stage["rows"]} == {
        f"{first} plan": 1.5,
        f"{first} tasks": 0.75,
    }

    per_agent = _cost(cli, scripted, "--by", "agent")
    assert {row["key"]: row["cost_usd"] for row in per_agent["rows"]} == {
        "gemini": 1.25,
        "claude": 1.25,
        "gpt_pro": 1.25,
    }
    per_day = _cost(cli, scripted, "--by", "day")
    assert [(row["key"], row["cost_usd"]) for row in per_day["rows"]] == [(today, 3.75)]


def test_cost_says_what_is_left_of_each_cap(
    cli: CliRunner, spent: tuple[ScriptedWorkspace, str]
) -> None:
    scripted, other = spent
    budget = _cost(cli, scripted, scripted.spec_id)["budget"]
    by_cap = {cap["cap"]: cap for cap in budget}
    assert by_cap["stage"]["limit_usd"] == 5 and by_cap["stage"]["left_usd"] is None
    assert (by_cap["spec"]["scope"], by_cap["spec"]["spent_usd"]) == (scripted.spec_id, 2.25)
    assert by_cap["spec"]["left_usd"] == 0.75
    assert (by_cap["daily"]["spent_usd"], by_cap["daily"]["left_usd"]) == (3.75, 6.25)

    text = cli("cost", cwd=scripted.root)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "cost by spec"
    (row,) = [line for line in lines if line.strip().startswith(other)]
    assert row.split()[1:4] == ["1", "3", "3,600"] and "$1.50" in row
    assert f"spec   {scripted.spec_id}: spent $2.25 of $3.00, left $0.75" in text.stdout
    assert f"daily  {utc_timestamp()[:10]} (UTC): spent $3.75 of $10.00, left $6.25" in text.stdout
    assert "stage  each stage run's estimate: at most $5.00" in text.stdout


ESCALATING = """
[agents.gemini]
driver = "scripted"
script = "agents.toml"
model = "gemini-2.5-pro"
timeout = 10

[agents.claude]
driver = "scripted"
script = "agents.toml"
model = "claude-sonnet-4-5"
timeout = 10

[agents.gpt_codex]
driver = "scripted"
script = "agents.toml"
model = "gpt-5-codex"
timeout = 10

[agents.gpt_pro]
driver = "scripted"
script = "agents.toml"
model = "gpt-5"
role = "aggregator"
timeout = 10

[stages.plan]
agents = ["gemini", "claude", "gpt_codex", "gpt_pro"]
first = ["gemini", "claude"]

[stages.validate]
agents = ["gemini", "claude", "gpt_pro"]
"""


def test_cache_hits_and_escalations_avoided_are_counted(cli: CliRunner, tmp_path: Path) -> None:
    """A real escalated run (its first tier agrees: gpt_codex is never paid) and a real
    re-run served from the answer cache, as `speckit cost` reads them from the evidence."""
    scripted = make_scripted(tmp_path / "ws", SCRIPT)
    scripted.configure(roster=ESCALATING)
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace('mode = "panel"', 'mode = "escalate"'))
    scripted.commit()
    plan = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "decided by the first tier (gemini, claude); not called: gpt_codex" in plan.stdout
    for _ in range(2):  # the second validate is answered from the cache
        done = cli("run", "validate", scripted.spec_id, "--allow-dirty", cwd=scripted.root)
        assert done.returncode == 0, done.stdout + done.stderr

    data = _cost(cli, scripted, scripted.spec_id, "--by", "stage")
    rows = {row["key"].split()[-1]: row for row in data["rows"]}
    assert rows["plan"]["escalations_avoided"] == 1
    assert rows["plan"]["calls"] == 3  # gemini, claude, and the aggregator on their two
    assert rows["validate"]["cache_hits"] == 3
    assert data["total"]["escalations_avoided"] == 1
    assert data["total"]["cache_hits"] == 3


def test_cost_without_runs_and_with_no_cap(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    done = cli("cost", cwd=scripted.root)
    assert done.returncode == 0, done.stderr
    assert "no spend recorded yet" in done.stdout
    assert "budget: no cap set" in done.stdout
    data = _cost(cli, scripted)
    assert data["rows"] == [] and data["budget"] == [] and data["total"]["cost_usd"] == 0
