"""write_bundle / latest_synthesis: layout, stubs, metrics, telemetry switch, same-second runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from speckit.consensus.synthesis import synthesize
from speckit.errors import SpeckitError
from speckit.evidence.bundle import latest_synthesis, reserve_run
from speckit.evidence.jsonl import read_lines
from speckit.pipeline.bundle import BundlePaths, write_bundle
from speckit.telemetry.validate import validate_jsonl
from tests.consensus.factory import STEPS, plan_answer, result

SPEC = "SPEC-KIT-001-login"
TS = "2026-11-25T10:00:00Z"
AGENTS = ["gemini", "claude", "gpt_pro"]
WRITER = Path(__file__).with_name("writer.py")


def _write(
    root: Path, ts: str = TS, session: str = "s1", telemetry: bool = True, failing: bool = True
) -> BundlePaths:
    found = [result("gemini", plan_answer(STEPS)), result("claude", plan_answer(STEPS))]
    found.append(
        result("gpt_pro", status="timeout", error="timed out after 600s", cost=None)
        if failing
        else result("gpt_pro", plan_answer(STEPS))
    )
    synthesis = synthesize("plan", SPEC, AGENTS, found)
    guardrail = {
        "schemaVersion": 1,
        "sessionId": session,
        "policy": {"prefilter": {"model": "m1", "status": "passed"}},
    }
    return write_bundle(
        root, SPEC, "plan", ts, session, "plan-v1", found, synthesis, guardrail, telemetry
    )


def test_bundle_layout_answers_stub_metrics_synthesis_telemetry(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    paths = _write(root)
    folder = root / "consensus" / SPEC
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [f"spec-plan_{TS}_{a}{s}.json" for a in AGENTS for s in ("", "_metrics")]
        + [f"spec-plan_{TS}_synthesis.json", f"spec-plan_{TS}_telemetry.jsonl"]
    )
    answer = json.loads(paths.agents["gemini"].read_text())
    assert answer["final_plan"]["work_breakdown"][0] == {"step": STEPS[0]}
    stub = json.loads(paths.agents["gpt_pro"].read_text())
    assert stub["status"] == "timeout" and stub["error"] == "timed out after 600s"
    assert stub["consensus"] == {"agreements": [], "conflicts": []}  # no fake conflict
    metrics = json.loads(paths.metrics["claude"].read_text())
    assert metrics["prompt_tokens"] == 1000 and metrics["completion_tokens"] == 200
    assert metrics["total_tokens"] == 1200 and metrics["cost_usd"] == 0.01
    assert metrics["output_path"] == f"evidence/consensus/{SPEC}/spec-plan_{TS}_claude.json"
    synthesis = json.loads(paths.synthesis.read_text())
    assert synthesis["status"] == "degraded" and synthesis["sessionId"] == "s1"
    assert synthesis["timestamp"] == TS and synthesis["prompt_version"] == "plan-v1"
    assert paths.telemetry is not None
    [line] = read_lines(paths.telemetry)
    record = line.record
    assert record is not None
    assert record["consensus"]["status"] == "degraded" == record["consensusStatus"]
    assert record["consensus"]["total_tokens"] == 3600  # a timed-out call still used tokens
    assert record["consensus"]["total_cost_usd"] == pytest.approx(0.02)
    assert record["guardrail"]["prefilter_model"] == "m1"
    assert record["missingAgents"][0]["agent"] == "gpt_pro"
    assert validate_jsonl(paths.telemetry) == (1, [])
    assert not list(folder.glob(".*"))  # no claim or temp files left behind


def test_telemetry_off_writes_no_line(tmp_path: Path) -> None:
    paths = _write(tmp_path / "evidence", telemetry=False)
    assert paths.telemetry is None
    assert not list(paths.folder.glob("*.jsonl"))
    assert paths.synthesis.is_file()


def test_same_second_runs_both_land(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    first = _write(root, session="s1")
    second = _write(root, session="s2", failing=False)
    assert (first.key, second.key) == (TS, f"{TS}-2")
    assert json.loads(first.synthesis.read_text())["sessionId"] == "s1"
    assert json.loads(second.synthesis.read_text())["sessionId"] == "s2"
    found = latest_synthesis(root, SPEC, "plan")
    assert found is not None and found[0] == second.synthesis and found[1]["status"] == "ok"


def test_same_second_runs_from_two_processes_both_land(tmp_path: Path) -> None:
    root, go = tmp_path / "evidence", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), "same-second", str(root), SPEC, TS, f"proc{i}", str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    go.touch()
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "done" in out
    folder = root / "consensus" / SPEC
    sessions = sorted(
        json.loads(p.read_text())["sessionId"] for p in folder.glob("*_synthesis.json")
    )
    assert sessions == ["proc0", "proc1"]
    for telemetry in folder.glob("*_telemetry.jsonl"):
        assert validate_jsonl(telemetry)[1] == []
    assert len(list(folder.glob("*_telemetry.jsonl"))) == 2


def test_reserve_run_is_idempotent_for_one_session(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    assert reserve_run(root, SPEC, "plan", TS, "s1") == TS
    assert reserve_run(root, SPEC, "plan", TS, "s1") == TS
    assert reserve_run(root, SPEC, "plan", TS, "s2") == f"{TS}-2"
    paths = _write(root, session="s1")
    assert paths.key == TS


def test_bad_timestamp_and_spec_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeckitError, match="YYYY-MM-DDTHH:MM:SSZ"):
        _write(tmp_path, ts="2026-11-25 10:00")
    with pytest.raises(SpeckitError, match="not a SPEC id"):
        reserve_run(tmp_path, "../etc", "plan", TS, "s")


def test_latest_synthesis_orders_runs_and_ignores_raw_and_temp_files(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    assert latest_synthesis(root, SPEC, "plan") is None
    for i, ts in enumerate(["2026-11-25T10:00:09Z", "2026-11-25T10:00:10Z"]):
        _write(root, ts=ts, session=f"s{i}", failing=i == 0)
    for _ in range(9):  # ten runs at one second: -10 must sort after -9
        _write(root, ts="2026-11-25T10:00:10Z", session="later")
    folder = root / "consensus" / SPEC
    (folder / "spec-plan_2026-11-25T10:00:11Z_claude_raw.json").write_text("{}")
    (folder / ".spec-plan_2026-11-25T10:00:12Z_synthesis.json.abc.tmp").write_text("{")
    found = latest_synthesis(root, SPEC, "plan")
    assert found is not None
    assert found[0].name == "spec-plan_2026-11-25T10:00:10Z-10_synthesis.json"
    assert latest_synthesis(root, SPEC, "tasks") is None


def test_unreadable_newest_synthesis_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    _write(root)
    bad = root / "consensus" / SPEC / "spec-plan_2026-11-25T11:00:00Z_synthesis.json"
    bad.write_text('{"stage": "${stage}", "status": "ok"}')
    with pytest.raises(SpeckitError, match=r"unexpanded placeholders \$\{stage\}"):
        latest_synthesis(root, SPEC, "plan")
