"""`speckit run STAGE SPEC` end to end: verdicts, exit codes, evidence, telemetry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import CliRunner
from tests.pipeline.conftest import AGREE, ROSTER, ScriptedWorkspace


def bundle_files(scripted: ScriptedWorkspace) -> list[str]:
    return sorted(p.name for p in scripted.consensus_dir().iterdir())


def test_three_agents_agree_is_ok(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "✔ ok" in result.stdout
    for agent in ("gemini", "claude", "gpt_pro"):
        assert agent in result.stdout
    assert "1000/200" in result.stdout  # scripted token usage shown per agent
    names = bundle_files(scripted)
    for suffix in (
        "_gemini.json",
        "_claude.json",
        "_gpt_pro.json",
        "_gemini_metrics.json",
        "_synthesis.json",
        "_telemetry.jsonl",
    ):
        assert any(n.endswith(suffix) for n in names), suffix
    telemetry = next(scripted.consensus_dir().glob("*_telemetry.jsonl"))
    line = json.loads(telemetry.read_text().splitlines()[0])
    assert line["schemaVersion"] == "2.0" and line["command"] == "spec-plan"
    assert line["consensus"]["status"] == "ok"
    assert {a["agent"] for a in line["consensus"]["agents"]} == {"gemini", "claude", "gpt_pro"}
    assert line["consensus"]["total_tokens"] > 0
    assert cli("telemetry", "validate", cwd=scripted.root).returncode == 0


def test_notes_when_earlier_stages_have_not_run(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    result = cli("run", "validate", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stderr
    assert "plan has not run" in result.stdout
    assert "implement has not run" in result.stdout


def test_differing_decisions_conflict(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.script(AGREE + '\n[stages.validate.claude]\nanswer = { decision = "reject" }\n')
    result = cli("run", "validate", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 2, result.stdout
    assert "conflict" in result.stdout
    allowed = cli("run", "validate", scripted.spec_id, "--allow-conflict", cwd=scripted.root)
    assert allowed.returncode == 0
    check = cli("consensus", "check", scripted.spec_id, "validate", cwd=scripted.root)
    assert check.returncode == 2, "the conflict is still recorded with --allow-conflict"


def test_missing_cli_agent_degrades(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    roster = ROSTER.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "claude-sonnet-4-5"',
        'driver = "claude_cli"\nmodel = "claude-sonnet-4-5"',
    )
    scripted.configure(roster)
    scripted.commit()
    env = {"PATH": os.path.dirname(os.__file__) + "/nonexistent:/usr/bin:/bin"}
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "degraded" in result.stdout
    assert "missing:  claude" in result.stdout
    stub = next(scripted.consensus_dir().glob("*_claude.json"))
    assert "error" in json.loads(stub.read_text())


def test_invalid_output_and_timeout_degrade(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    scripted.script(
        AGREE + '\n[stages.plan.gemini]\nmode = "garbage"\n'
        '\n[stages.plan.claude]\nmode = "timeout"\n'
    )
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace("timeout = 10", "timeout = 1"))
    scripted.commit()
    result = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 3
    synthesis = json.loads(result.stdout)
    assert synthesis["specId"] == scripted.spec_id and synthesis["timestamp"], "the file's JSON"
    table = cli("run", "plan", scripted.spec_id, cwd=scripted.root).stdout
    assert "✖ invalid" in table and "✖ timeout" in table, "the table shows the judged status"
    missing = {m["agent"]: m["status"] for m in synthesis["missing_agents"]}
    # No proposer answered validly, so the aggregator (gpt_pro) was not called at all.
    assert missing == {"gemini": "invalid", "claude": "timeout", "gpt_pro": "missing"}


def test_arbiter_resolves_conflict(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    roster = ROSTER + (
        '[agents.judge]\ndriver = "scripted"\nscript = "agents.toml"\n'
        'role = "arbiter"\ntimeout = 10\n\n'
    )
    scripted.configure(roster)
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace('# arbiter = "claude"', 'arbiter = "judge"'))
    scripted.commit()
    scripted.script(
        AGREE + '\n[stages.validate.claude]\nanswer = { decision = "reject" }\n'
        '\n[stages.validate.judge]\nanswer = { decision = "approve", resolved = true, '
        'rationale = "the tests cover every criterion" }\n'
    )
    result = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    synthesis = json.loads(result.stdout)
    assert synthesis["status"] == "ok" and synthesis["arbiter_override"] is True
    assert synthesis["arbiter"]["agent"] == "judge"
    assert next(scripted.consensus_dir().glob("spec-validate_*_judge.json")).is_file()
    telemetry = next(scripted.consensus_dir().glob("spec-validate_*_telemetry.jsonl"))
    line = json.loads(telemetry.read_text().splitlines()[0])["consensus"]
    assert "judge" in {a["agent"] for a in line["agents"]}, "the arbiter's spend is counted"
    assert line["total_tokens"] == sum(a["total_tokens"] or 0 for a in line["agents"])


def test_human_override_is_recorded_and_honoured(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    scripted.script(AGREE + '\n[stages.validate.claude]\nanswer = { decision = "reject" }\n')
    assert cli("run", "validate", scripted.spec_id, cwd=scripted.root).returncode == 2
    override = cli(
        "consensus",
        "override",
        scripted.spec_id,
        "validate",
        "--verdict",
        "ok",
        "--reason",
        "claude misread the spec",
        cwd=scripted.root,
    )
    assert override.returncode == 0, override.stderr
    assert (
        cli("consensus", "check", scripted.spec_id, "validate", cwd=scripted.root).returncode == 0
    )
    status = json.loads(cli("status", "--json", cwd=scripted.root).stdout)
    assert status[0]["stages"]["validate"]["status"] == "ok"


def test_telemetry_can_be_turned_off(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    result = cli(
        "run", "plan", scripted.spec_id, cwd=scripted.root, env={"SPEC_KIT_TELEMETRY_ENABLED": "0"}
    )
    assert result.returncode == 0
    assert "telemetry: off" in result.stdout
    assert not list(scripted.consensus_dir().glob("*_telemetry.jsonl"))
    assert list(scripted.consensus_dir().glob("*_synthesis.json"))


def test_bad_arguments(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    for args, message in (
        (["run", "deploy", scripted.spec_id], "unknown stage"),
        (["run", "plan", "SPEC-NOPE-001"], "no SPEC"),
        (["run", "plan", "../../etc"], "not a SPEC id"),
    ):
        result = cli(*args, cwd=scripted.root)
        assert result.returncode == 64, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def test_no_enabled_agents_is_a_clear_error(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    config = scripted.root / "speckit.toml"
    config.write_text(
        config.read_text()
        .replace("[agents.gemini]", "[agents.gemini]\nenabled = false")
        .replace("[agents.claude]", "[agents.claude]\nenabled = false")
        .replace("[agents.gpt_pro]", "[agents.gpt_pro]\nenabled = false")
    )
    scripted.commit()
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 1 and "no enabled agents" in result.stderr


def test_unique_prefix_resolves(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    prefix = "-".join(scripted.spec_id.split("-")[:3])
    assert cli("run", "plan", prefix, cwd=scripted.root).returncode == 0


def test_prompts_show_uses_stage_schema(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    shown = cli("prompts", "show", "plan", scripted.spec_id, "--agent", "gemini", cwd=scripted.root)
    assert shown.returncode == 0, shown.stderr
    assert "final_plan.work_breakdown" in shown.stdout
    assert f"docs/{scripted.spec_id}/spec.md" in shown.stdout
    assert "Rate limit login" in shown.stdout
    agg = cli("prompts", "show", "tasks", scripted.spec_id, "--agent", "gpt_pro", cwd=scripted.root)
    assert "aggregator" in agg.stdout and "validated_tasks" in agg.stdout
    bad = cli("prompts", "show", "plan", scripted.spec_id, "--agent", "nobody", cwd=scripted.root)
    assert bad.returncode == 64 and "no agent 'nobody'" in bad.stderr


def test_second_concurrent_run_is_refused(scripted: ScriptedWorkspace, tmp_path: Path) -> None:
    from speckit.errors import SpeckitError
    from speckit.pipeline.locks import stage_run_lock

    cache = scripted.root / ".speckit"
    with stage_run_lock(cache, scripted.spec_id, "plan"):
        try:
            with stage_run_lock(cache, scripted.spec_id, "plan"):
                raise AssertionError("the second lock must be refused")
        except SpeckitError as exc:
            assert "already running" in exc.message


def test_corrupt_earlier_verdict_is_a_note_not_a_crash(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    synthesis = next(scripted.consensus_dir().glob("spec-plan_*_synthesis.json"))
    synthesis.write_text("{ torn")
    result = cli("run", "tasks", scripted.spec_id, cwd=scripted.root)
    assert result.returncode == 0, result.stderr
    assert "plan: newest verdict unreadable" in result.stdout


def test_a_key_echoed_by_a_tool_never_reaches_evidence(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    import sys

    echo = json.dumps(
        [
            sys.executable,
            "-c",
            (
                "import os, sys, json\n"
                "key = os.environ['MY_API_KEY']\n"
                "print('debug: using key ' + key, file=sys.stderr)\n"
                "print(json.dumps({'final_plan': {'work_breakdown': ['call with ' + key]}}))\n"
            ),
        ]
    )
    roster = ROSTER.replace(
        'driver = "scripted"\nscript = "agents.toml"\nmodel = "claude-sonnet-4-5"',
        f'driver = "command"\ncommand = {echo}',
    )
    scripted.configure(roster)
    scripted.commit()
    secret = "supersecret-value-123456"
    result = cli("run", "plan", scripted.spec_id, cwd=scripted.root, env={"MY_API_KEY": secret})
    assert result.returncode in (0, 2, 3), result.stderr
    leaks = [
        p
        for p in (scripted.root / "evidence").rglob("*")
        if p.is_file() and secret.encode() in p.read_bytes()
    ]
    assert leaks == []
    answer = json.loads(next(scripted.consensus_dir().glob("spec-plan_*_claude.json")).read_text())
    assert "***" in json.dumps(answer)


def test_policy_refusal_is_shown_advisory_or_blocking(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    roster = ROSTER + (
        '[agents.policy_bot]\ndriver = "scripted"\nscript = "agents.toml"\ntimeout = 10\n\n'
    )
    scripted.configure(roster)
    config = scripted.root / "speckit.toml"
    policy = "blocking = true.\nagents = []"  # the template's comment line ends the same way
    config.write_text(
        config.read_text().replace(policy, 'blocking = true.\nagents = ["policy_bot"]')
    )
    scripted.commit()
    scripted.script(
        AGREE + '\n[stages.plan.policy_bot]\nanswer = { decision = "reject", '
        'reason = "no threat model in the spec" }\n'
    )
    advisory = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert advisory.returncode == 0, advisory.stdout + advisory.stderr
    assert "advisory: policy" in advisory.stdout and "no threat model" in advisory.stdout
    config.write_text(config.read_text().replace("blocking = false", "blocking = true"))
    scripted.commit()
    blocked = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert blocked.returncode == 4
    assert "no threat model" in blocked.stderr
