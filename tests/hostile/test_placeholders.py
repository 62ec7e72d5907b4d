"""`${…}` quoted from an agent's answer is the agent's words, not a malformed record: the
placeholder check applies to the fields speckit fills (the earlier system's bug)."""

from __future__ import annotations

import json
from pathlib import Path

from speckit.placeholders import filled_placeholders
from tests.conftest import ORIGIN, CliRunner
from tests.pipeline.conftest import AGREE, ScriptedWorkspace

REDIS_ITEM = "Store counters in Redis at ${REDIS_URL}"
ORIGIN_EVIDENCE = ORIGIN / "docs" / "SPEC-OPS-004-integrated-coder-hooks" / "evidence"


def _only(folder: Path, pattern: str) -> Path:
    (found,) = sorted(folder.glob(pattern))
    return found


def test_an_agent_quoting_a_placeholder_does_not_lock_the_spec(
    scripted: ScriptedWorkspace, cli: CliRunner
) -> None:
    scripted.script(AGREE.replace('"Load test"', f'"{REDIS_ITEM}"'))
    done = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    synthesis = _only(scripted.consensus_dir(), "spec-plan_*_synthesis.json")
    assert REDIS_ITEM in synthesis.read_text()  # the agents' words are kept as written
    check = cli("consensus", "check", scripted.spec_id, "plan", cwd=scripted.root)
    assert check.returncode == 0, check.stdout + check.stderr
    valid = cli("telemetry", "validate", cwd=scripted.root)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    rejudge = cli("consensus", "rejudge", str(scripted.consensus_dir()), cwd=scripted.root)
    assert rejudge.returncode == 0, rejudge.stderr
    assert "placeholder" not in rejudge.stdout, rejudge.stdout
    auto = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert _only(scripted.consensus_dir(), "spec-plan_*_synthesis.json") == synthesis  # resumed
    assert _only(scripted.consensus_dir(), "spec-unlock_*_synthesis.json").is_file()

    # A field speckit fills, written unexpanded, is still caught everywhere.
    data = json.loads(synthesis.read_text())
    data["specId"] = "${spec}"
    synthesis.write_text(json.dumps(data))
    check = cli("consensus", "check", scripted.spec_id, "plan", cwd=scripted.root)
    assert check.returncode == 1 and "unexpanded placeholders ${spec}" in check.stderr
    telemetry = _only(scripted.consensus_dir(), "spec-plan_*_telemetry.jsonl")
    line = json.loads(telemetry.read_text())
    line["sessionId"] = "${session_id}"
    telemetry.write_text(json.dumps(line) + "\n")
    valid = cli("telemetry", "validate", str(telemetry), cwd=scripted.root)
    assert valid.returncode == 1
    assert "unexpanded shell placeholders ${session_id}" in valid.stdout


def test_filled_fields_are_checked_at_any_depth_and_agent_text_never() -> None:
    record = {
        "specId": "SPEC-A-001",
        "consensus": {
            "agreements": ["use ${REDIS_URL}"],
            "agents": [{"agent": "claude", "output_path": "${output_dir}/a.json",
                        "error": "tool said ${HOME}"}],
        },
        "artifacts": ["evidence/${stage}.json"],
        "notes": ["${x}"],
    }  # fmt: skip
    assert filled_placeholders(record) == ["${output_dir}", "${stage}"]


def test_origin_placeholder_records_are_still_malformed(cli: CliRunner) -> None:
    done = cli("telemetry", "validate", str(ORIGIN_EVIDENCE))
    flagged = [line for line in done.stdout.splitlines() if "unexpanded shell placeholders" in line]
    assert done.returncode == 1
    assert len(flagged) == 1 and "spec-plan_2025-10-05T01:21:02Z_telemetry.jsonl:1:" in flagged[0]
    for synthesis in ORIGIN_EVIDENCE.glob("consensus/*/spec-*_synthesis.json"):
        assert "${stage}" in filled_placeholders(json.loads(synthesis.read_text()))
