"""`speckit telemetry validate` and `schema` on the origin fixtures and on speckit's own records."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from speckit.telemetry import telemetry_enabled
from speckit.telemetry.schema import consensus_schema, guardrail_schema
from speckit.telemetry.validate import check_consensus_record, check_guardrail_record
from tests.conftest import ORIGIN, CliRunner

EVIDENCE = ORIGIN / "docs" / "SPEC-OPS-004-integrated-coder-hooks" / "evidence"
DEMO = EVIDENCE / "consensus" / "SPEC-KIT-DEMO"
GOOD = DEMO / "spec-plan_2025-10-05T04:31:14Z_telemetry.jsonl"
BAD = DEMO / "spec-plan_2025-10-05T01:21:02Z_telemetry.jsonl"
GUARDRAILS = EVIDENCE / "commands" / "SPEC-KIT-DEMO"


@pytest.mark.shared(EVIDENCE)
def test_origin_stub_run_line_is_valid(cli: CliRunner) -> None:
    done = cli("telemetry", "validate", str(GOOD))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "checked 1 records in 1 files: all valid\n"


@pytest.mark.shared(EVIDENCE)
def test_origin_placeholder_line_is_malformed_and_named(cli: CliRunner) -> None:
    done = cli("telemetry", "validate", str(BAD))
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{BAD}:1: unexpanded shell placeholders ${{stage}}, ${{spec}}")
    assert "${timestamp_run}" in first and "${prompt_version}" in first


@pytest.mark.shared(EVIDENCE)
def test_whole_origin_evidence_reports_only_the_known_bad_records(cli: CliRunner) -> None:
    done = cli("telemetry", "validate", str(EVIDENCE))
    assert done.returncode == 1
    bad_files = {
        re.match(r"^(.*?\.jsonl?):\d+: ", line)[1]  # type: ignore[index]
        for line in done.stdout.splitlines()
    }
    assert str(GOOD) not in bad_files
    assert str(BAD) in bad_files
    # the other three v2 lines (SPEC-KIT-025) are valid
    assert not [f for f in bad_files if "SPEC-KIT-025" in f]
    # six guardrail records of 2025-10-03T17:3x are not valid JSON (unescaped quotes)
    broken = sorted(Path(f).name for f in bad_files if "/commands/" in f)
    assert len(broken) == 6 and all("2025-10-03T17:3" in name for name in broken)
    assert "not valid JSON (Expecting ',' delimiter, column 111)" in done.stdout


@pytest.mark.shared(EVIDENCE)
def test_valid_guardrail_records_pass(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "evidence" / "commands" / "SPEC-KIT-DEMO"
    folder.mkdir(parents=True)
    good = [p for p in GUARDRAILS.glob("spec-*.json") if "2025-10-04" in p.name]
    for path in good:
        shutil.copy(path, folder)
    done = cli("telemetry", "validate", str(tmp_path / "evidence"))
    assert done.returncode == 0, done.stdout
    assert f"checked {len(good)} records in {len(good)} files" in done.stderr + done.stdout


@pytest.mark.shared(EVIDENCE)
def test_guardrail_stage_fields_are_checked() -> None:
    record = json.loads(
        (GUARDRAILS / "spec-implement_2025-10-04T14:02:09Z-284428793.json").read_text()
    )
    assert check_guardrail_record(record) == []
    del record["lock_status"]
    record["checks"] = [{"name": "clean tree", "status": "maybe"}]
    problems = check_guardrail_record(record)
    assert "missing field lock_status" in problems
    assert any(p.startswith("checks[0].status") for p in problems)


@pytest.mark.shared(EVIDENCE)
def test_torn_tail_is_reported_and_skipped(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "spec-plan_2026-01-01T00:00:00Z_telemetry.jsonl"
    path.write_bytes(GOOD.read_bytes() + GOOD.read_bytes()[:500])
    done = cli("telemetry", "validate", str(path))
    assert done.returncode == 1
    assert done.stdout.strip() == (
        f"{path}:2: incomplete last line (no trailing newline: a writer was interrupted): skipped"
    )


def test_missing_path_is_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("telemetry", "validate", str(tmp_path / "nope"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"speckit: error: {tmp_path / 'nope'}: no such file or folder"


@pytest.mark.shared(EVIDENCE)
def test_type_and_enum_problems_name_the_field() -> None:
    record = json.loads(GOOD.read_text())
    record["consensus"]["agents"][1]["prompt_tokens"] = "120"
    record["consensus"]["status"] = "fine"
    problems = check_consensus_record(record)
    assert 'consensus.agents[1].prompt_tokens must be integer or null, got "120"' in problems
    assert any(p.startswith("consensus.status 'fine' is not one of") for p in problems)


@pytest.mark.shared(EVIDENCE)
def test_published_schemas_agree_with_the_fast_validator(cli: CliRunner) -> None:
    done = cli("telemetry", "schema")
    assert done.returncode == 0
    assert json.loads(done.stdout) == consensus_schema()
    good = json.loads(GOOD.read_text())
    jsonschema.validate(good, consensus_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(BAD.read_text()), consensus_schema())
    record = json.loads((GUARDRAILS / "spec-plan_2025-10-05T00:22:04Z-26505108.json").read_text())
    jsonschema.validate(record, guardrail_schema())
    del record["baseline"]
    assert check_guardrail_record(record) == ["missing field baseline"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, guardrail_schema())
    guardrail = cli("telemetry", "schema", "--kind", "guardrail")
    assert json.loads(guardrail.stdout)["$id"] == "speckit/telemetry/guardrail-v1"


def test_telemetry_switch() -> None:
    assert telemetry_enabled(True, {}) is True
    assert telemetry_enabled(False, {}) is False
    assert telemetry_enabled(True, {"SPEC_KIT_TELEMETRY_ENABLED": "0"}) is False
    assert telemetry_enabled(False, {"SPEC_KIT_TELEMETRY_ENABLED": "true"}) is True
    from speckit.errors import UsageError

    with pytest.raises(UsageError, match="must be 0 or 1"):
        telemetry_enabled(True, {"SPEC_KIT_TELEMETRY_ENABLED": "maybe"})


@pytest.mark.shared(EVIDENCE)
def test_odd_lines_are_reported_not_crashed(tmp_path: Path) -> None:
    from speckit.telemetry.validate import validate_jsonl

    good = GOOD.read_bytes().strip()
    data = (
        b"\n".join(
            [
                good,
                b"",
                b"   " + good,
                good + b" trailing",
                b"null",
                b'{"a":',
                b"1}",
                b"\xff\xfe",
            ]
        )
        + b"\n"
    )
    count, problems = validate_jsonl(tmp_path / "x.jsonl", data)
    assert count == 7
    by_line = {p.line: p.message for p in problems}
    assert 1 not in by_line and 3 not in by_line  # leading blanks are fine
    assert by_line[4].startswith("not valid JSON (Extra data")
    assert by_line[5] == "not a JSON object"
    assert by_line[6].startswith("not valid JSON") and by_line[7].startswith("not valid JSON")
    assert by_line[8].startswith("not valid JSON")


def test_fast_path_and_detailed_check_agree_on_speckit_records(tmp_path: Path) -> None:
    from speckit.consensus.synthesis import synthesize
    from speckit.evidence.jsonl import read_lines
    from speckit.pipeline.bundle import write_bundle
    from tests.consensus.factory import STEPS, plan_answer, result

    found = [result("a", plan_answer(STEPS)), result("b", status="missing", error="not found")]
    synthesis = synthesize("plan", "SPEC-KIT-001", ["a", "b"], found)
    paths = write_bundle(
        tmp_path,
        "SPEC-KIT-001",
        "plan",
        "2026-01-01T00:00:00Z",
        "s",
        "v",
        found,
        synthesis,
        None,
        True,
    )
    assert paths.telemetry is not None
    record = read_lines(paths.telemetry)[0].record
    assert record is not None and check_consensus_record(record) == []
    record["consensus"]["agents"][0]["cache_hit"] = "no"
    assert check_consensus_record(record) == [
        'consensus.agents[0].cache_hit must be boolean or null, got "no"'
    ]


@pytest.mark.shared(EVIDENCE)
def test_validate_defaults_to_the_workspace_evidence(cli: CliRunner, workspace: Path) -> None:
    target = workspace / "evidence" / "consensus" / "SPEC-KIT-DEMO"
    target.mkdir(parents=True)
    shutil.copy(GOOD, target)
    assert cli("telemetry", "validate", cwd=workspace).returncode == 0
    shutil.copy(BAD, target)
    done = cli("telemetry", "validate", cwd=workspace)
    assert done.returncode == 1 and "unexpanded shell placeholders" in done.stdout
