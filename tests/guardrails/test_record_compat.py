"""Our schema-v1 records against the earlier system's own reader.

`earlier_schema_failures` / `earlier_verdict` are a line-by-line Python port of
that system's guardrail validator (`validate_guardrail_schema` and
`evaluate_guardrail_value` in its spec-kit Rust module). The port is first
checked against the earlier system's real records, then run on ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from speckit.guardrails import run_guardrail
from speckit.stages import DEFAULT_PIPELINE, STAGES
from tests.conftest import ORIGIN
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import LoopbackServer, set_http_checks

ORIGIN_RECORDS = ORIGIN / "docs/SPEC-OPS-004-integrated-coder-hooks/evidence/commands/SPEC-KIT-DEMO"
ALLOWED = ("passed", "failed", "skipped")


def _get(value: Any, path: list[str]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def earlier_schema_failures(stage: str, record: dict[str, Any]) -> list[str]:
    failures: list[str] = []

    def string(path: list[str], where: Any = record) -> str | None:
        value = _get(where, path)
        if not isinstance(value, str):
            failures.append(f"missing string {'.'.join(path)}")
            return None
        return value

    if record.get("command") != f"spec-ops-{stage}":
        failures.append(f"unexpected command {record.get('command')!r}")
    for field in ("specId", "sessionId", "timestamp"):
        string([field])
    artifacts = record.get("artifacts")
    if stage in ("validate", "audit"):
        if artifacts is not None and not isinstance(artifacts, list):
            failures.append("artifacts must be an array")
    elif not isinstance(artifacts, list) or not artifacts:
        failures.append("artifacts missing or empty")
    if stage == "plan":
        for path in (["baseline", "mode"], ["baseline", "artifact"], ["baseline", "status"],
                     ["hooks", "session.start"]):  # fmt: skip
            string(path)
    elif stage == "tasks":
        string(["tool", "status"])
    elif stage == "implement":
        string(["lock_status"])
        string(["hook_status"])
    elif stage in ("validate", "audit"):
        scenarios = record.get("scenarios")
        if not isinstance(scenarios, list) or not scenarios:
            failures.append("scenarios missing or empty")
        else:
            for scenario in scenarios:
                string(["name"], scenario)
                if string(["status"], scenario) not in ALLOWED:
                    failures.append(f"scenario status {scenario.get('status')!r}")
        summary = _get(record, ["hal", "summary"])
        if "hal" in record:
            if not isinstance(summary, dict) or summary.get("status") not in ALLOWED:
                failures.append("hal.summary.status")
            else:
                for key in ("failed_checks", "artifacts"):
                    entries = summary.get(key, [])
                    if not isinstance(entries, list) or not all(
                        isinstance(e, str) and e.strip() for e in entries
                    ):
                        failures.append(f"hal.summary.{key}")
    elif stage == "unlock":
        string(["unlock_status"])
    return failures


def earlier_verdict(stage: str, record: dict[str, Any]) -> bool:
    """The earlier `evaluate_guardrail_value` success flag."""
    if stage == "plan":
        baseline = _get(record, ["baseline", "status"])
        return (
            baseline in ("passed", "skipped") and _get(record, ["hooks", "session.start"]) == "ok"
        )
    if stage == "tasks":
        return bool(_get(record, ["tool", "status"]) == "ok")
    if stage == "implement":
        return record.get("lock_status") == "locked" and record.get("hook_status") == "ok"
    if stage in ("validate", "audit"):
        return all(s.get("status") in ("passed", "skipped") for s in record["scenarios"])
    return record.get("unlock_status") == "unlocked"


def _origin_records() -> list[tuple[str, dict[str, Any]]]:
    records = []
    for path in sorted(ORIGIN_RECORDS.glob("spec-*.json")):
        try:  # some real records hold unescaped quotes: they were never valid JSON
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        records.append((path.name.split("_")[0].removeprefix("spec-"), record))
    return records


@pytest.mark.shared(ORIGIN_RECORDS)
def test_the_port_accepts_the_earlier_systems_own_records() -> None:
    records = _origin_records()
    assert {stage for stage, _ in records} == set(DEFAULT_PIPELINE)  # it had no specify
    for stage, record in records:
        assert earlier_schema_failures(stage, record) == [], (stage, record["sessionId"])


def _field_names(record: dict[str, Any]) -> set[str]:
    return set(record) - {"policy"}


@pytest.mark.shared(ORIGIN_RECORDS)
def test_our_records_keep_every_earlier_field(repo: Repo) -> None:
    origin = {stage: record for stage, record in _origin_records()}
    origin["specify"] = origin["plan"]  # specify runs the plan stage's checks
    for stage in STAGES:
        ours = run_guardrail(repo.ws, repo.spec_id, stage, f"s-{stage}", env={}).record
        missing = _field_names(origin[stage]) - set(ours)
        assert missing == set(), (stage, missing)
        assert ours["schemaVersion"] == 1 and ours["command"] == f"spec-ops-{stage}"
        assert all(set(a) == {"path"} for a in ours["artifacts"])


@pytest.mark.parametrize("stage", STAGES)
def test_the_earlier_reader_accepts_our_passing_records(repo: Repo, stage: str) -> None:
    outcome = run_guardrail(repo.ws, repo.spec_id, stage, "s1", env={})
    assert outcome.passed
    on_disk = json.loads(outcome.record_path.read_text())
    assert on_disk == outcome.record
    assert outcome.record_path == (
        repo.root / "evidence" / "commands" / repo.spec_id / f"spec-{stage}_s1.json"
    )
    # specify is new; its record carries the plan stage's fields, read by the plan rules
    judged = "plan" if stage == "specify" else stage
    as_read = {**on_disk, "command": f"spec-ops-{judged}"}
    assert on_disk["command"] == f"spec-ops-{stage}"
    assert earlier_schema_failures(judged, as_read) == []
    assert earlier_verdict(judged, as_read) is True
    for artifact in on_disk["artifacts"]:
        assert (repo.root / artifact["path"]).is_file()


def test_the_earlier_reader_sees_our_failures_as_failures(
    repo: Repo, server: LoopbackServer
) -> None:
    (repo.root / "docs" / repo.spec_id / "plan.md").unlink()
    set_http_checks(repo.root, [{"name": "api", "url": f"{server.base_url}/down"}])
    failing: dict[str, dict[str, Any]] = {}
    for stage in ("plan", "validate", "audit"):
        outcome = run_guardrail(repo.ws, repo.spec_id, stage, "f1", env={})
        assert not outcome.passed
        failing[stage] = outcome.record
    (repo.root / "SPEC.md").write_text("# broken tracker\n")  # dirty tree as well
    failing["plan"] = run_guardrail(repo.ws, repo.spec_id, "plan", "f2", env={}).record
    for stage, record in failing.items():
        assert earlier_schema_failures(stage, record) == [], stage
        assert earlier_verdict(stage, record) is False, stage
    assert failing["validate"]["hal"]["summary"]["failed_checks"] == ["api"]


def test_paths_in_records_are_workspace_relative(repo: Repo) -> None:
    record = run_guardrail(repo.ws, repo.spec_id, "plan", "s1", env={}).record
    paths = [a["path"] for a in record["artifacts"]] + [record["baseline"]["artifact"]]
    assert all(not Path(p).is_absolute() and p.startswith("evidence/commands/") for p in paths)
