"""`speckit run plan` end to end with a real model: three local agents, then the same via HTTP.

Nothing here fixes the verdict: a 135M model says what it says. The tests check
that the tokens and latencies are the model's own, that the verdict on disk is
what speckit's rules give for the saved answers, and that telemetry validates.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.local_roster import LOCAL_AGENTS, local_roster_toml
from speckit.evidence.rejudge import rejudge
from tests.conftest import CliRunner
from tests.local.conftest import TEST_ARGS, make_workspace, needs_local

pytestmark = [pytest.mark.local, needs_local, pytest.mark.timeout(300)]

EXIT_OF = {"ok": 0, "conflict": 2, "degraded": 3}
# llama-cpp-python's server accepts response_format types "text" and "json_object" only.
SERVER_REFUSES_JSON_SCHEMA = "Input should be 'text' or 'json_object'"


def http_roster(base_url: str) -> str:
    """The local roster's three agents, but through `openai_http` against llama_cpp.server."""
    lines = []
    for name, settings in LOCAL_AGENTS.items():
        lines += [
            f"[agents.{name.replace('local', 'http')}]",
            'driver = "openai_http"',
            'model = "smollm2-135m-instruct"',
            f'base_url = "{base_url}"',
            f"role = {json.dumps(settings['role'])}",
            f"temperature = {settings['temperature']}",
            f"seed = {settings['seed']}",
            f"system_prompt = {json.dumps(settings['system_prompt'])}",
            "timeout = 240",
            "max_tokens = 200",
            "",
        ]
    names = json.dumps(["http_a", "http_b", "http_c"])
    return "\n".join(lines) + f"\n[stages.plan]\nagents = {names}\n"


def run_plan(cli: CliRunner, root: Path, spec_id: str) -> tuple[str, dict[str, Any]]:
    """`speckit run plan --json`: the verdict and the synthesis it printed."""
    result = cli("run", "plan", spec_id, "--json", cwd=root, timeout=280)
    synthesis = json.loads(result.stdout)
    status = synthesis["status"]
    assert result.returncode == EXIT_OF[status], result.stderr
    return status, synthesis


def telemetry_line(root: Path, spec_id: str) -> dict[str, Any]:
    files = list((root / "evidence" / "consensus" / spec_id).glob("spec-plan_*_telemetry.jsonl"))
    assert len(files) == 1
    line: dict[str, Any] = json.loads(files[0].read_text().splitlines()[0])
    return line


def check_real_run(
    cli: CliRunner, root: Path, spec_id: str, agents: list[str], status: str
) -> list[dict[str, Any]]:
    """Assertions shared by both runs; returns the telemetry's per-agent entries."""
    line = telemetry_line(root, spec_id)
    entries = line["consensus"]["agents"]
    assert [e["agent"] for e in entries] == agents
    # failed: no answer; missing: not called (the aggregator, when no proposal was valid)
    answered = [e for e in entries if e["status"] not in ("failed", "missing")]
    assert answered, f"every agent failed: {[e['error'] for e in entries]}"
    for entry in answered:
        assert entry["prompt_tokens"] > 50, entry
        assert entry["completion_tokens"] > 0, entry
        assert entry["latency_ms"] > 0, entry
    assert line["consensus"]["total_tokens"] == sum(e["total_tokens"] or 0 for e in entries)
    assert line["consensus"]["status"] == status
    # The verdict is the rules' verdict for the answers saved on disk.
    verdicts = rejudge(root / "evidence" / "consensus" / spec_id)
    assert len(verdicts) == 1
    assert verdicts[0].recorded_status == status == verdicts[0].synthesis.status
    validated = cli("telemetry", "validate", cwd=root)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    return list(entries)


def test_plan_with_three_local_agents(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    spec_id = make_workspace(root, local_roster_toml(timeout=240, args=TEST_ARGS))
    status, synthesis = run_plan(cli, root, spec_id)
    assert [a["agent"] for a in synthesis["agents"]] == ["local_a", "local_b", "local_c"]
    entries = check_real_run(cli, root, spec_id, ["local_a", "local_b", "local_c"], status)
    for entry in entries:
        assert entry["status"] in ("ok", "invalid", "timeout"), entry["error"]
        assert entry["cost_usd"] == 0.0
    metrics = sorted((root / "evidence" / "consensus" / spec_id).glob("*_local_a_metrics.json"))
    assert json.loads(metrics[0].read_text())["cost_source"] == "local"


def test_agents_check_loads_llama_cpp(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root, local_roster_toml(args=TEST_ARGS))
    result = cli("agents", "check", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("llama-cpp-python 0.") == 3
    assert "all 3 enabled agents usable" in result.stdout


def test_plan_through_openai_http_against_llama_cpp_server(
    cli: CliRunner, tmp_path: Path, llama_server: str
) -> None:
    root = tmp_path / "ws"
    spec_id = make_workspace(root, http_roster(llama_server))
    config = tomllib.loads((root / "speckit.toml").read_text())
    assert config["agents"]["http_a"]["base_url"].startswith("http://127.0.0.1:")
    status, _synthesis = run_plan(cli, root, spec_id)
    entries = telemetry_line(root, spec_id)["consensus"]["agents"]
    # openai_http falls back to llama.cpp's {"type": "json_object", "schema": …} form
    assert not any(SERVER_REFUSES_JSON_SCHEMA in (e["error"] or "") for e in entries)
    check_real_run(cli, root, spec_id, ["http_a", "http_b", "http_c"], status)
