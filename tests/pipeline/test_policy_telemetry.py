"""The guardrail's policy-agent calls are spent tokens: the telemetry line and the summary
count them, and `quality_metrics` holds measured checks only."""

from __future__ import annotations

import json
from typing import Any

from speckit.telemetry.record import quality_metrics
from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace

POLICY_BOT = (
    '[agents.policy_bot]\ndriver = "scripted"\nscript = "agents.toml"\n'
    'model = "policy-model-x"\ntimeout = 10\n'
    "price = { input_per_mtok = 1.0, output_per_mtok = 2.0 }\n\n"
)
APPROVES = (
    '\n[stages.plan.policy_bot]\nanswer = { decision = "approve", reason = "fine" }\n'
    "usage = { input_tokens = 5000, output_tokens = 100 }\n"
)


def with_policy_bot(scripted: ScriptedWorkspace) -> None:
    scripted.configure(ROSTER + POLICY_BOT)
    config = scripted.root / "speckit.toml"
    policy = "blocking = true.\nagents = []"  # the template's comment line ends the same way
    config.write_text(
        config.read_text().replace(policy, 'blocking = true.\nagents = ["policy_bot"]')
    )
    scripted.script(AGREE + APPROVES)
    scripted.commit()


def telemetry_line(scripted: ScriptedWorkspace) -> dict[str, Any]:
    path = next(scripted.consensus_dir().glob("*_telemetry.jsonl"))
    line: dict[str, Any] = json.loads(path.read_text().splitlines()[-1])
    return line


def test_a_policy_call_reaches_the_guardrail_block_and_the_summary(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    with_policy_bot(scripted)
    run = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert run.returncode == 0, run.stdout + run.stderr

    guardrail = telemetry_line(scripted)["guardrail"]
    assert guardrail["policy_model"] == "policy-model-x"
    assert guardrail["policy_status"] == "passed"
    assert guardrail["latency_ms"] is not None
    assert (guardrail["prompt_tokens"], guardrail["completion_tokens"]) == (5000, 100)
    assert guardrail["total_tokens"] == 5100
    assert guardrail["cost_usd"] == (5000 * 1.0 + 100 * 2.0) / 1e6
    assert [call["agent"] for call in guardrail["policy_agents"]] == ["policy_bot"]

    summary = cli("telemetry", "summary", scripted.spec_id, cwd=scripted.root)
    assert summary.returncode == 0, summary.stderr
    policy_line = next(ln for ln in summary.stdout.splitlines() if "(policy calls)" in ln)
    assert "tokens 5100" in policy_line and "$0.0052" in policy_line
    as_json = json.loads(
        cli("telemetry", "summary", scripted.spec_id, "--json", cwd=scripted.root).stdout
    )
    assert as_json[0]["policy"]["tokens"] == 5100

    checked = cli("telemetry", "validate", cwd=scripted.root)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_quality_metrics_count_guardrail_checks_not_answers(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    run = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert run.returncode == 0, run.stdout + run.stderr
    line = telemetry_line(scripted)
    records = list((scripted.root / "evidence" / "commands" / scripted.spec_id).glob("*.json"))
    assert len(records) == 1
    statuses = [check["status"] for check in json.loads(records[0].read_text())["checks"]]
    assert "skipped" in statuses  # the policy check: no policy agents configured
    quality = line["quality_metrics"]
    assert quality["automated_checks_passed"] == statuses.count("passed") > 0
    assert quality["automated_checks_failed"] == statuses.count("failed")
    assert quality["completeness_score"] is None  # nothing measures completeness yet


def test_no_guardrail_means_no_measured_checks() -> None:
    assert quality_metrics(None) == {
        "automated_checks_passed": None,
        "automated_checks_failed": None,
        "human_review_score": None,
        "completeness_score": None,
    }
