"""Budgets: a run that would pass a `[budget]` cap does not start (exit 4, a failed `budget`
guardrail check with the figures), an aggregator that would pass one is not called, 80 %
of a cap warns, unknown prices are said once, and the daily cap counts every SPEC.

Real CLI in subprocesses, scripted agents whose script entries report `cost_usd` (so the
spend is exact) and `price` overrides of $1000 per million output tokens, $0 input (so an
estimate is exact: 1,000 default output tokens cost $1.00, a 200-token answer $0.20).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from speckit.specs.documents import create_spec
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace, make_scripted

PRICE = "price = { input_per_mtok = 0, output_per_mtok = 1000 }\n"
PRICED = ROSTER.replace("timeout = 10\n", f"timeout = 10\n{PRICE}")
PAID = AGREE.replace(
    "usage = { input_tokens = 1000, output_tokens = 200 }",
    "usage = { input_tokens = 1000, output_tokens = 200 }\ncost_usd = 0.5",
)


def _workspace(
    root: Path, budget: str, roster: str = PRICED, script: str = PAID
) -> ScriptedWorkspace:
    scripted = make_scripted(root, script)
    scripted.configure(roster)
    set_budget(scripted, budget)
    return scripted


def set_budget(scripted: ScriptedWorkspace, budget: str) -> None:
    """Caps go into the template's own [budget] table (it lists `warn_at`)."""
    config = scripted.root / "speckit.toml"
    text = config.read_text()
    assert "\nwarn_at = 0.8\n" in text
    config.write_text(text.replace("\nwarn_at = 0.8\n", f"\n{budget}\nwarn_at = 0.8\n", 1))
    scripted.commit()


def _command_agent(name: str, marker: Path, reply: dict[str, Any], role: str) -> str:
    """A priced `command` agent that leaves `marker` behind when its process starts."""
    script = f"touch {marker}; cat > /dev/null; echo '{json.dumps(reply)}'"
    return (
        f'[agents.{name}]\ndriver = "command"\ncommand = ["sh", "-c", {json.dumps(script)}]\n'
        f'role = "{role}"\ntimeout = 10\n{PRICE}\n'
    )


def _records(scripted: ScriptedWorkspace, spec_id: str | None = None) -> list[dict[str, Any]]:
    folder = scripted.root / "evidence" / "commands" / (spec_id or scripted.spec_id)
    # in the order they were written: two runs in one second have session ids that differ only
    # in random digits, so their names do not sort by time
    paths = sorted(folder.glob("spec-plan_*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text()) for p in paths]


def _budget_check(record: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in record["checks"] if c["name"] == "budget"]
    assert len(found) == 1, record["checks"]
    check: dict[str, Any] = found[0]
    return check


def _synthesis(scripted: ScriptedWorkspace) -> dict[str, Any]:
    path = sorted(scripted.consensus_dir().glob("spec-plan_*_synthesis.json"))[-1]
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_run_whose_estimate_passes_the_stage_cap_does_not_start(
    cli: CliRunner, tmp_path: Path
) -> None:
    marker = tmp_path / "claude-was-started"
    claude = _command_agent("claude", marker, {"final_plan": {"work_breakdown": ["x"]}}, "proposer")
    roster = PRICED.replace(
        PRICED[PRICED.index("[agents.claude]") : PRICED.index("[agents.gpt_pro]")], claude
    )
    scripted = _workspace(tmp_path / "ws", "stage_usd = 2.5", roster)

    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)

    assert done.returncode == 4, done.stderr
    figures = "stage budget: estimated $3.00 > cap $2.50"
    assert figures in done.stderr
    assert "gemini $1.00, claude $1.00, gpt_pro $1.00" in done.stderr
    assert not marker.exists(), "no agent process was started"
    assert not scripted.consensus_dir().exists() or not list(scripted.consensus_dir().iterdir())
    (record,) = _records(scripted)
    assert record["status"] == "failed"
    check = _budget_check(record)
    assert check["status"] == "failed" and check["blocking"] is True
    assert figures in check["reason"]


def test_the_spec_cap_counts_what_the_spec_spent_and_warns_at_80_percent(
    cli: CliRunner, tmp_path: Path
) -> None:
    # First run: no history, 3 agents × 1,000 default tokens = $3.00 of $3.50 (86 %): a warning.
    scripted = _workspace(tmp_path / "ws", "spec_usd = 3.5")
    first = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert first.returncode == 0, first.stderr
    warning = "spec budget at 86% (warns at 80%): estimated $3.00 of cap $3.50"
    assert f"advisory: budget: {warning}" in first.stdout
    check = _budget_check(_records(scripted)[0])
    assert (check["status"], check["blocking"], check["reason"]) == ("failed", False, warning)

    # Second: spent $1.50 (three reported $0.50 answers); 200-token answers now: $0.60. 60 %.
    second = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert second.returncode == 0, second.stderr
    assert "advisory: budget" not in second.stdout
    passed = _budget_check(_records(scripted)[1])
    assert passed["status"] == "passed"
    assert "estimated $0.60 (gemini $0.20, claude $0.20, gpt_pro $0.20)" in passed["reason"]

    # Third: $3.00 spent + $0.60 > $3.50.
    third = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert third.returncode == 4
    assert "spec budget: spent $3.00 + estimated $0.60 > cap $3.50" in third.stderr
    assert len(list(scripted.consensus_dir().glob("*_synthesis.json"))) == 2


def test_the_daily_cap_counts_every_spec_of_the_workspace(cli: CliRunner, tmp_path: Path) -> None:
    scripted = _workspace(tmp_path / "ws", "daily_usd = 3.5")
    other, _line = create_spec(scripted.workspace, "Audit log export")
    scripted.commit()
    for _ in range(2):  # $1.50 each on the first SPEC
        done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
        assert done.returncode == 0, done.stderr

    done = cli("run", "plan", other, cwd=scripted.root)

    assert done.returncode == 4
    assert "daily budget (today, UTC): spent $3.00 + estimated $0.60 > cap $3.50" in done.stderr
    assert _budget_check(_records(scripted, other)[0])["status"] == "failed"
    assert not (scripted.root / "evidence" / "consensus" / other).exists()


def test_an_aggregator_that_would_pass_a_cap_is_not_called(cli: CliRunner, tmp_path: Path) -> None:
    # The estimate ($3.00) fits the $4.00 stage cap, but the proposers report $5.00 each.
    marker = tmp_path / "aggregator-was-started"
    aggregator = _command_agent(
        "gpt_pro", marker, {"final_plan": {"work_breakdown": ["x"]}}, "aggregator"
    )
    roster = PRICED.replace(
        PRICED[PRICED.index("[agents.gpt_pro]") : PRICED.index("[agents.gpt_codex]")], aggregator
    )
    scripted = _workspace(
        tmp_path / "ws",
        "stage_usd = 4.0",
        roster,
        PAID.replace("cost_usd = 0.5", "cost_usd = 5.0"),
    )

    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)

    assert done.returncode == 3, done.stdout + done.stderr  # degraded: one agent missing
    reason = "stage budget: spent $10.00 + estimated $1.00 > cap $4.00"
    assert reason in done.stdout
    assert not marker.exists(), "the aggregator's process never started"
    synthesis = _synthesis(scripted)
    assert synthesis["status"] == "degraded"
    (missing,) = [m for m in synthesis["missing_agents"] if m["agent"] == "gpt_pro"]
    assert reason in missing["reason"]
    assert any(reason in note for note in synthesis["notes"])
    # The proposers were paid: their spend is evidence, and the next run counts it.
    telemetry = next(scripted.consensus_dir().glob("spec-plan_*_telemetry.jsonl"))
    line = json.loads(telemetry.read_text().splitlines()[0])
    assert line["consensus"]["total_cost_usd"] == 10.0
    cost = cli("cost", "--json", cwd=scripted.root)
    assert json.loads(cost.stdout)["total"]["cost_usd"] == 10.0


def test_unknown_prices_are_said_once_and_do_not_block_alone(
    cli: CliRunner, tmp_path: Path
) -> None:
    # The aggregator has neither a model the price library knows nor a price of its own.
    unpriced = PRICED.replace(
        'model = "gpt-5"\nrole = "aggregator"\ntimeout = 10\n' + PRICE,
        'role = "aggregator"\ntimeout = 10\n',
    )
    assert unpriced != PRICED
    scripted = _workspace(tmp_path / "ws", "stage_usd = 2.5", unpriced)

    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)

    assert done.returncode == 0, done.stderr  # $2.00 known (< $2.50); gpt_pro unknown
    assert done.stdout.count("cost unknown for gpt_pro") == 1, done.stdout
    check = _budget_check(_records(scripted)[0])
    assert check["status"] == "passed"
    assert "gpt_pro unknown" in check["reason"]
    assert any("cost unknown for gpt_pro" in note for note in _synthesis(scripted)["notes"])


def test_no_cap_means_no_budget_check(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stderr
    record = _records(scripted)[0]
    assert "budget" not in [c["name"] for c in record["checks"]]


def test_a_bad_budget_is_a_one_line_error_at_load(cli: CliRunner, tmp_path: Path) -> None:
    scripted = make_scripted(tmp_path / "ws")
    config = scripted.root / "speckit.toml"
    good = config.read_text()
    cases = {
        "spec_usd = -1": "budget.spec_usd must be a number of US dollars, 0 or more, not -1.0",
        'daily_usd = "5"': 'budget.daily_usd must be a number, not "5"',
        "stage_usd = nan": "budget.stage_usd must be a number of US dollars, 0 or more, not nan",
        "warn_at = 0": "budget.warn_at must be a share of the cap above 0 and at most 1",
        "monthly_usd = 3": "budget.monthly_usd: Extra inputs are not permitted",
    }
    for line, message in cases.items():
        config.write_text(good.replace("\nwarn_at = 0.8\n", f"\n{line}\n", 1))
        done = cli("cost", cwd=scripted.root)
        assert done.returncode == 1, line
        assert message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
