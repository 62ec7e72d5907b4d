"""Live export: with `[telemetry] otlp_endpoint` (or OTEL_EXPORTER_OTLP_ENDPOINT) a stage run's
spans reach the collector as its telemetry line is written; a stopped collector never fails
the stage, and what was not sent is counted in one line."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import run_speckit
from tests.telemetry.otel_workspace import otel_workspace, telemetry_lines
from tests.telemetry.otlp_receiver import Received, closed_port, otlp_receiver


def _ids(received: Received) -> dict[str, tuple[Any, ...]]:
    return {
        s["span_id"]: (s["name"], s["trace_id"], s["parent_id"], s["start"], s["end"])
        for s in received.spans
    }


def _span_count(line: dict[str, Any]) -> int:
    """The stage run's span, one per agent call and one per policy call."""
    return 1 + len(line["consensus"]["agents"]) + len(line["guardrail"]["policy_agents"])


def test_run_plan_sends_its_spans_to_the_configured_endpoint(tmp_path: Path) -> None:
    with otlp_receiver() as (url, received):
        scripted = otel_workspace(tmp_path / "ws", endpoint=url)
        done = run_speckit("run", "plan", scripted.spec_id, cwd=scripted.root)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "OpenTelemetry" not in done.stderr  # everything went: no note
        [line] = telemetry_lines(scripted)
        received.wait_for(_span_count(line))  # sent before the process ended (bounded flush)
    [stage] = received.by_name("stage plan")
    assert stage["attributes"]["speckit.run_key"] == line["runId"]
    assert stage["parent_id"] is None  # a lone run: the stage is the trace's root
    agents = received.by_name("invoke_agent ")
    assert {s["attributes"]["gen_ai.agent.name"] for s in agents} == {
        "gemini",
        "claude",
        "gpt_pro",
        "policy_bot",
    }
    assert all(s["parent_id"] == stage["span_id"] for s in agents)
    assert "gen_ai.output.messages" not in str(received.spans)  # never content when live

    # the same spans, ids and times as a later export from the evidence
    with otlp_receiver() as (again_url, again):
        export = run_speckit("telemetry", "export", "--otlp", again_url, cwd=scripted.root)
    assert export.returncode == 0, export.stderr
    assert _ids(again) == _ids(received)


def test_an_auto_run_sends_its_workflow_span_after_its_stages(tmp_path: Path) -> None:
    scripted = otel_workspace(tmp_path / "ws")
    with otlp_receiver() as (url, received):
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url}  # the standard variable, no config key
        done = run_speckit("auto", scripted.spec_id, cwd=scripted.root, env=env)
        assert done.returncode == 3, done.stdout + done.stderr  # tasks degraded
        received.wait_for(1 + sum(_span_count(line) for line in telemetry_lines(scripted)))
    [workflow] = received.by_name("invoke_workflow")
    stages = received.by_name("stage ")
    assert [s["attributes"]["speckit.stage"] for s in stages] == ["plan", "tasks"]
    assert all(s["parent_id"] == workflow["span_id"] for s in stages)
    assert received.spans[-1]["name"] == "invoke_workflow speckit auto"  # sent when auto ended

    with otlp_receiver() as (again_url, again):
        export = run_speckit("telemetry", "export", "--otlp", again_url, cwd=scripted.root)
    assert export.returncode == 0, export.stderr
    assert _ids(again) == _ids(received)


def test_a_stopped_collector_does_not_fail_the_stage_and_is_told_once(tmp_path: Path) -> None:
    url = closed_port()
    scripted = otel_workspace(tmp_path / "ws", endpoint=url)
    done = run_speckit("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plan" in done.stdout and "ok" in done.stdout
    [line] = telemetry_lines(scripted)  # the evidence is whole
    spans = _span_count(line)
    notes = [ln for ln in done.stderr.splitlines() if "OpenTelemetry" in ln]
    assert notes == [
        f"note: OpenTelemetry: {spans} spans not sent to {url}/v1/traces (connection refused); "
        "the evidence has them: speckit telemetry export --otlp URL"
    ]

    # once the collector is back, the evidence exports what was missed
    with otlp_receiver() as (back, received):
        export = run_speckit("telemetry", "export", "--otlp", back, cwd=scripted.root)
    assert export.returncode == 0, export.stderr
    assert len(received.spans) == spans


def test_without_the_extra_a_live_run_still_passes_and_says_how_to_install(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "blocker" / "opentelemetry"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("not installed")\n')
    path = os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])
    with otlp_receiver() as (url, received):
        scripted = otel_workspace(tmp_path / "ws", endpoint=url)
        done = run_speckit(
            "run", "plan", scripted.spec_id, cwd=scripted.root, env={"PYTHONPATH": path}
        )
    assert done.returncode == 0, done.stdout + done.stderr
    [note] = [ln for ln in done.stderr.splitlines() if "OpenTelemetry" in ln]
    assert "pip install 'speckit[otel]'" in note
    assert received.requests == 0


def test_a_collector_that_never_answers_delays_the_exit_boundedly(tmp_path: Path) -> None:
    gate = threading.Event()  # never opened while the run lasts: every request hangs
    with otlp_receiver(gate) as (url, _received):
        scripted = otel_workspace(tmp_path / "ws", endpoint=url)
        started = time.monotonic()
        done = run_speckit("run", "plan", scripted.spec_id, cwd=scripted.root)
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = telemetry_lines(scripted)
    [note] = [ln for ln in done.stderr.splitlines() if "OpenTelemetry" in ln]
    assert f"{_span_count(line)} spans not sent" in note and "the endpoint was slow" in note
    assert elapsed < 30  # the flush at exit is bounded (2.5 s), not the exporter's retries
