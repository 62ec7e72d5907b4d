"""`speckit telemetry export --otlp URL`: an `auto` run's agent calls reach a real OTLP/HTTP
receiver on loopback as GenAI spans, with every attribute, parent links and real times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from speckit.telemetry.otel_spans import parse_time
from tests.conftest import run_speckit
from tests.pipeline.conftest import ScriptedWorkspace
from tests.telemetry.otel_workspace import (
    SECRET_ANSWER,
    evidence_digest,
    otel_workspace,
    telemetry_lines,
)
from tests.telemetry.otlp_receiver import Received, closed_port, otlp_receiver

CLIENT, INTERNAL, ERROR = 3, 1, 2  # OTLP's SpanKind and StatusCode numbers
GENAI = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.agent.name",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.cost",
    "speckit.cost_source",
)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> ScriptedWorkspace:
    """One `speckit auto` (plan ok, tasks degraded: claude fails) shared by the tests here,
    which only read its evidence."""
    scripted = otel_workspace(tmp_path_factory.mktemp("otel") / "ws")
    auto = run_speckit("auto", scripted.spec_id, cwd=scripted.root)
    assert auto.returncode == 3, auto.stdout + auto.stderr  # halted: tasks degraded
    return scripted


def export(
    scripted: ScriptedWorkspace, *args: str
) -> tuple[subprocess.CompletedProcess[str], Received]:
    with otlp_receiver() as (url, received):
        done = run_speckit("telemetry", "export", "--otlp", url, *args, cwd=scripted.root)
    return done, received


def test_an_auto_run_is_one_trace_of_workflow_stage_and_agent_spans(
    ran: ScriptedWorkspace,
) -> None:
    done, received = export(ran)
    assert done.returncode == 0, done.stderr
    lines = telemetry_lines(ran)
    calls = sum(len(line["consensus"]["agents"]) for line in lines)
    policy = sum(len(line["guardrail"].get("policy_agents") or []) for line in lines)
    assert done.stdout.strip().startswith(f"exported {1 + len(lines) + calls + policy} spans")
    assert f"{len(lines)} stage runs, {calls + policy} agent calls" in done.stdout

    [workflow] = received.by_name("invoke_workflow")
    assert workflow["parent_id"] is None and workflow["kind"] == INTERNAL
    assert workflow["attributes"]["gen_ai.operation.name"] == "invoke_workflow"
    assert workflow["attributes"]["speckit.stages"] == ["plan", "tasks"]
    assert workflow["attributes"]["speckit.verdict"] == "degraded"
    assert {line["autoRunId"] for line in lines} == {workflow["attributes"]["speckit.auto_run_id"]}
    assert received.resources[0]["service.name"] == "speckit"

    stages = {s["attributes"]["speckit.stage"]: s for s in received.by_name("stage ")}
    assert set(stages) == {"plan", "tasks"}
    every = received.spans
    assert {s["trace_id"] for s in every} == {workflow["trace_id"]}  # one trace
    assert len({s["span_id"] for s in every}) == len(every)
    for stage in stages.values():
        assert stage["parent_id"] == workflow["span_id"]
        assert workflow["start"] <= stage["start"] <= stage["end"] <= workflow["end"]
    plan, tasks = stages["plan"]["attributes"], stages["tasks"]["attributes"]
    assert (plan["speckit.verdict"], tasks["speckit.verdict"]) == ("ok", "degraded")
    assert plan["speckit.agreement_ratio"] == lines[0]["consensus"]["agreement_ratio"]
    assert plan["speckit.escalation"] is False
    assert tasks["speckit.missing_agents"] == ["claude"]
    assert stages["plan"]["end"] <= stages["tasks"]["start"] + 10**9  # keys: 1 s resolution


def test_every_agent_call_carries_the_genai_attributes_and_its_real_times(
    ran: ScriptedWorkspace,
) -> None:
    _done, received = export(ran)
    stages = {s["span_id"]: s for s in received.by_name("stage ")}
    agents = received.by_name("invoke_agent ")
    by_key = {
        (s["attributes"]["speckit.stage"], s["attributes"]["gen_ai.agent.name"]): s for s in agents
    }
    for line in telemetry_lines(ran):
        stage = line["command"].removeprefix("spec-")
        for entry in line["consensus"]["agents"]:
            span = by_key[(stage, entry["agent"])]
            attrs = span["attributes"]
            assert span["name"] == f"invoke_agent {entry['agent']}"
            assert span["kind"] == CLIENT
            assert span["parent_id"] in stages
            assert stages[span["parent_id"]]["attributes"]["speckit.stage"] == stage
            if entry["status"] != "ok":  # claude in tasks failed: no usage, an error status
                assert span["status"] == ERROR
                assert "overloaded" in span["status_message"]
                assert attrs["error.type"] == "failed"
                continue
            assert set(GENAI) <= set(attrs), set(GENAI) - set(attrs)
            assert attrs["gen_ai.operation.name"] == "invoke_agent"
            assert attrs["gen_ai.provider.name"] == "speckit.scripted"
            assert (
                attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == entry["model_id"]
            )
            assert attrs["gen_ai.usage.input_tokens"] == entry["prompt_tokens"] == 1200
            assert attrs["gen_ai.usage.output_tokens"] == 340
            assert attrs["gen_ai.usage.cache_read.input_tokens"] == 800
            assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 100
            assert attrs["gen_ai.usage.reasoning.output_tokens"] == 40
            assert attrs["gen_ai.usage.cost"] == entry["cost_usd"] == 0.0125
            assert attrs["speckit.cost_source"] == entry["cost_source"] == "reported"
            # real times: recorded when the call started, lasting its latency; its raw
            # output was written while it ran
            assert attrs["speckit.time_source"] == "recorded"
            assert span["start"] == parse_time(entry["started_at"])
            latency = entry["latency_ms"] * 1_000_000
            assert span["end"] - span["start"] == latency
            raw = (
                ran.consensus_dir() / f"{line['command']}_{line['runId']}_{entry['agent']}_raw.txt"
            )
            slack = 50_000_000  # the file system's clock is coarser than the recorded times
            assert span["start"] - slack <= raw.stat().st_mtime_ns <= span["end"] + slack
            assert entry["latency_ms"] >= 200  # the scripted delay
            parent = stages[span["parent_id"]]
            assert parent["start"] <= span["start"] and span["end"] <= parent["end"]
    # the aggregator starts after the proposers it summarises have answered
    for stage in ("plan", "tasks"):
        proposers = [
            s
            for (st, _a), s in by_key.items()
            if st == stage
            and s["attributes"]["speckit.role"] == "proposer"
            and s["status"] != ERROR
        ]
        aggregator = by_key[(stage, "gpt_pro")]
        assert aggregator["start"] >= max(p["end"] for p in proposers)


def test_the_guardrails_policy_call_is_an_agent_span_too(ran: ScriptedWorkspace) -> None:
    _done, received = export(ran)
    [policy] = [
        s
        for s in received.by_name("invoke_agent policy_bot")
        if s["attributes"]["speckit.stage"] == "plan"
    ]
    attrs = policy["attributes"]
    assert attrs["speckit.role"] == "policy" and attrs["speckit.stage"] == "plan"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (5000, 100)
    assert attrs["gen_ai.request.model"] == "policy-model-x"


def _identity(received: Received) -> set[tuple[Any, ...]]:
    return {
        (s["trace_id"], s["span_id"], s["parent_id"], s["start"], s["end"]) for s in received.spans
    }


def test_exporting_twice_sends_the_same_ids_and_times(ran: ScriptedWorkspace) -> None:
    first, once = export(ran)
    second, twice = export(ran)
    assert first.returncode == second.returncode == 0
    assert _identity(once) == _identity(twice)
    assert len(_identity(once)) == len(once.spans)


def test_answers_are_not_exported_unless_asked(ran: ScriptedWorkspace) -> None:
    _done, received = export(ran)
    sent = json.dumps(received.spans)
    assert SECRET_ANSWER not in sent
    assert "gen_ai.output.messages" not in sent and "gen_ai.input.messages" not in sent

    done, with_content = export(ran, "--include-content")
    assert done.returncode == 0, done.stderr
    [gemini_plan] = [
        s
        for s in with_content.by_name("invoke_agent gemini")
        if s["attributes"]["speckit.stage"] == "plan"
    ]
    [message] = json.loads(gemini_plan["attributes"]["gen_ai.output.messages"])
    assert message["role"] == "assistant"
    assert SECRET_ANSWER in message["parts"][0]["content"]


def test_an_unreachable_endpoint_is_one_line_exit_1_and_nothing_changes(
    ran: ScriptedWorkspace,
) -> None:
    before = evidence_digest(ran.root)
    url = closed_port()
    done = run_speckit("telemetry", "export", "--otlp", url, cwd=ran.root)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "cannot reach the OTLP endpoint" in line and url in line
    assert "connection refused" in line
    assert evidence_digest(ran.root) == before


def test_since_and_spec_arguments_choose_the_runs(ran: ScriptedWorkspace) -> None:
    lines = telemetry_lines(ran)
    done, received = export(ran, ran.spec_id, "--since", lines[-1]["timestamp"])
    assert done.returncode == 0, done.stderr
    assert {s["attributes"]["speckit.stage"] for s in received.by_name("stage ")} == {"tasks"}

    done, received = export(ran, "--since", "2999-01-01")
    assert done.returncode == 0
    assert done.stdout.strip() == "no stage runs to export since 2999-01-01"
    assert received.requests == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--otlp", "localhost:4318"), "not an OTLP/HTTP URL"),
        (("--otlp", "http://127.0.0.1:4318", "--since", "last tuesday"), "--since: not a date"),
    ],
)
def test_bad_arguments_are_usage_errors(
    ran: ScriptedWorkspace, args: tuple[str, ...], message: str
) -> None:
    done = run_speckit("telemetry", "export", *args, cwd=ran.root)
    assert done.returncode == 64
    [line] = done.stderr.splitlines()
    assert message in line


def test_without_the_extra_the_error_says_how_to_install_it(
    ran: ScriptedWorkspace, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker" / "opentelemetry"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("not installed")\n')
    path = os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])
    with otlp_receiver() as (url, received):
        done = run_speckit(
            "telemetry", "export", "--otlp", url, cwd=ran.root, env={"PYTHONPATH": path}
        )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "pip install 'speckit[otel]'" in line
    assert received.requests == 0


def test_help_and_a_run_without_an_endpoint_do_not_import_the_sdk(tmp_path: Path) -> None:
    ran = otel_workspace(tmp_path / "ws")
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    for args in (["--help"], ["telemetry", "--help"], ["run", "plan", ran.spec_id]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "speckit", *args],
            cwd=ran.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        imported = [ln for ln in done.stderr.splitlines() if "import time:" in ln]
        assert imported, done.stderr
        assert not [ln for ln in imported if "opentelemetry" in ln], args
