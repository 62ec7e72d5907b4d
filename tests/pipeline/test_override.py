"""`override_verdict` without the CLI: what a front end such as the TUI calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckit.consensus.synthesis import synthesize
from speckit.errors import SpeckitError, UsageError
from speckit.evidence.bundle import latest_synthesis
from speckit.evidence.jsonl import read_lines
from speckit.pipeline.bundle import write_bundle
from speckit.pipeline.override import override_verdict
from speckit.workspace import Workspace
from tests.consensus.factory import STEPS, plan_answer, result

SPEC = "SPEC-KIT-010-limits"
AGENTS = ["gemini", "claude"]


def _degraded_run(root: Path) -> Path:
    found = [result("gemini", plan_answer(STEPS)), result("claude", status="timeout", error="slow")]
    synthesis = synthesize("plan", SPEC, AGENTS, found)
    ts = "2026-11-25T10:00:00Z"
    paths = write_bundle(
        root / "evidence", SPEC, "plan", ts, "s1", "v1", found, synthesis, None, True
    )
    assert paths.telemetry is not None
    return paths.telemetry


def test_an_override_is_honoured_and_keeps_the_earlier_one(workspace: Path) -> None:
    telemetry = _degraded_run(workspace)
    ws = Workspace(workspace)
    first = override_verdict(ws, SPEC, "plan", "ok", "claude is\n optional here", "ada")
    assert first.record.previous_status == "degraded"
    assert first.record.reason == "claude is optional here"  # one line
    second = override_verdict(ws, SPEC, "plan", "conflict", "second look", "bob")
    assert second.record.previous_status == "ok"  # the verdict in force, not the recorded one
    found = latest_synthesis(ws.evidence_root, SPEC, "plan")
    assert found is not None and found[1]["override"]["who"] == "bob"
    stored = json.loads(second.evidence.read_text())
    assert [h["who"] for h in stored["history"]] == ["ada"]
    assert second.telemetry == telemetry
    events = [line.record["event"] for line in read_lines(telemetry) if line.record]
    assert events == ["stage", "override", "override"]


def test_bad_reason_and_missing_synthesis_are_refused(workspace: Path) -> None:
    ws = Workspace(workspace)
    with pytest.raises(UsageError, match="--reason"):
        override_verdict(ws, SPEC, "plan", "ok", " \n ", "ada")
    with pytest.raises(SpeckitError, match="no synthesis for plan"):
        override_verdict(ws, SPEC, "plan", "ok", "why", "ada")
