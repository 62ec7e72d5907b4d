"""Span building details a user relies on: older lines (no `started_at`) timed from their raw
files or laid out when those are gone, the bounded live queue that drops (and counts) rather
than waits, and the endpoint setting."""

from __future__ import annotations

import atexit
import json
import threading
import time
from pathlib import Path

import pytest

from speckit.config import load_config
from speckit.errors import SpeckitError, UsageError
from speckit.telemetry.otel_export import traces_url
from speckit.telemetry.otel_live import LiveExporter, endpoint_for
from speckit.telemetry.otel_spans import StageLine, build_spans, parse_time, read_stage_lines
from tests.conftest import run_speckit
from tests.pipeline.conftest import ScriptedWorkspace
from tests.telemetry.otel_workspace import otel_workspace
from tests.telemetry.otlp_receiver import otlp_receiver


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> ScriptedWorkspace:
    scripted = otel_workspace(tmp_path_factory.mktemp("spans") / "ws")
    done = run_speckit("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    return scripted


def _lines(scripted: ScriptedWorkspace) -> list[StageLine]:
    return list(read_stage_lines(scripted.root / "evidence" / "consensus"))


def _without_start(record: dict[str, object]) -> dict[str, object]:
    """The line as written before calls recorded their start (and by the earlier system)."""
    consensus = dict(record["consensus"])  # type: ignore[call-overload]
    consensus["agents"] = [
        {k: v for k, v in entry.items() if k != "started_at"} for entry in consensus["agents"]
    ]
    return {**record, "consensus": consensus}


def test_new_lines_carry_each_calls_recorded_start(planned: ScriptedWorkspace) -> None:
    [line] = _lines(planned)
    spans = list(build_spans([line]))
    stage, agents = spans[0], spans[1:]
    entries = {e["agent"]: e for e in line.record["consensus"]["agents"]}
    for agent in agents:
        entry = entries.get(str(agent.name).removeprefix("invoke_agent "))
        if entry is None:  # the guardrail's policy call: laid out from the run's start
            continue
        assert agent.attributes["speckit.time_source"] == "recorded"
        assert agent.start_ns == parse_time(entry["started_at"])
        assert agent.end_ns - agent.start_ns == entry["latency_ms"] * 1_000_000
        assert stage.start_ns <= agent.start_ns and agent.end_ns <= stage.end_ns


def test_older_lines_take_their_calls_end_from_the_raw_output(
    planned: ScriptedWorkspace,
) -> None:
    [line] = _lines(planned)
    older = StageLine(line.path, _without_start(line.record))
    agents = list(build_spans([older]))[1:]
    sources = {str(a.attributes["speckit.time_source"]) for a in agents}
    assert "raw_output" in sources and "recorded" not in sources


def test_without_raw_files_calls_are_laid_out_from_the_run_start(
    planned: ScriptedWorkspace, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    [line] = _lines(planned)
    moved = copy / line.path.name  # the line alone, as if the raw outputs were pruned
    moved.write_text(json.dumps(_without_start(line.record)) + "\n", encoding="utf-8")
    [alone] = list(read_stage_lines(tmp_path, ["copy"]))
    spans = list(build_spans([alone]))
    stage, agents = spans[0], spans[1:]
    start = parse_time(line.record["timestamp"])
    assert stage.start_ns == start
    assert {a.attributes["speckit.time_source"] for a in agents} == {"layout"}
    by_role: dict[str, list[int]] = {}
    for agent in agents:
        by_role.setdefault(str(agent.attributes["speckit.role"]), []).append(agent.start_ns)
    assert set(by_role["proposer"]) == {start}  # proposers together, from the run's start
    proposers_end = max(a.end_ns for a in agents if a.attributes["speckit.role"] == "proposer")
    assert by_role["aggregator"] == [proposers_end]  # then the aggregator
    assert stage.end_ns == max(a.end_ns for a in agents)


def test_a_full_queue_drops_and_counts_instead_of_waiting(planned: ScriptedWorkspace) -> None:
    [line] = _lines(planned)
    per_run = len(list(build_spans([line])))
    gate = threading.Event()
    with otlp_receiver(gate) as (url, received):
        live = LiveExporter(traces_url(url), capacity=1)
        atexit.unregister(live.close)
        live.put_stage(line.path, line.record)
        deadline = time.monotonic() + 30
        while live.waiting and time.monotonic() < deadline:  # taken: its request is waiting
            time.sleep(0.01)
        for _ in range(4):  # one queued, three dropped
            live.put_stage(line.path, line.record)
        assert live.dropped == 3 * per_run
        assert live.reason == "the export queue was full"
        gate.set()
        assert live.flush(30)
        received.wait_for(2 * per_run)
    assert live.sent == 2 * per_run


def test_the_endpoint_setting(tmp_path: Path) -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("https://c.example/otlp/") == "https://c.example/otlp/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"
    for bad in ("collector:4318", "ftp://c", "http://c:port"):
        with pytest.raises(UsageError):
            traces_url(bad)

    scripted = otel_workspace(tmp_path / "ws")
    evidence = scripted.root / "evidence"
    assert endpoint_for(evidence, env={}) is None  # the template leaves it commented
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318"}
    assert endpoint_for(evidence, env=env) == "http://base:4318/v1/traces"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://traces:4318/custom"
    assert endpoint_for(evidence, env=env) == "http://traces:4318/custom"

    config = scripted.root / "speckit.toml"
    text = config.read_text()
    config.write_text(text.replace("[telemetry]\n", '[telemetry]\notlp_endpoint = "otlp:4318"\n'))
    with pytest.raises(SpeckitError, match="otlp_endpoint must be an http"):
        load_config(config)
    config.write_text(
        text.replace("[telemetry]\n", '[telemetry]\notlp_endpoint = "http://cfg:4318"\n')
    )
    assert load_config(config).telemetry.otlp_endpoint == "http://cfg:4318"
    assert endpoint_for(evidence, env={}) == "http://cfg:4318/v1/traces"
