"""The llama_cpp driver's pieces that need no model: settings, schema tightening, `missing`."""

from __future__ import annotations

import asyncio
import sys
import tomllib
from pathlib import Path

import pytest

from speckit.agents.llama_cpp import LlamaCppDriver, bounded_schema, parse_settings
from speckit.agents.local_roster import local_roster_toml
from speckit.agents.request import AgentRequest
from speckit.answers.schemas import stage_schema
from speckit.config import AgentConfig, Config
from speckit.stages import STAGES


def request_for(agent: AgentConfig, tmp_path: Path) -> AgentRequest:
    return AgentRequest(
        agent=agent,
        prompt="Plan it.",
        workdir=tmp_path,
        raw_output_path=tmp_path / "raw.txt",
        stage="plan",
        schema=stage_schema("plan"),
    )


def test_settings_from_args() -> None:
    settings = parse_settings(["n_ctx=1024", "--max-tokens=100", "n_threads=0"])
    assert (settings.n_ctx, settings.max_tokens, settings.n_threads) == (1024, 100, 0)
    assert parse_settings([]).n_ctx == 4096


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["temperature=3"], "key=value with key in"),
        (["n_ctx"], "key=value with key in"),
        (["max_tokens=lots"], "must be an integer"),
        (["max_items=0"], "must be positive"),
        (["n_ctx=256", "max_tokens=512"], "must be below n_ctx"),
    ],
)
def test_bad_settings_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_settings(args)


def test_bad_settings_fail_the_agent_in_one_line(tmp_path: Path) -> None:
    agent = AgentConfig(name="a", driver="llama_cpp", args=["max_tokens=lots"])
    result = asyncio.run(LlamaCppDriver().run(request_for(agent, tmp_path)))
    if result.status == "missing":  # without speckit[local] the install hint comes first
        assert "install speckit[local]" in (result.error or "")
    else:
        assert result.status == "failed"
        assert result.error == "llama_cpp arg max_tokens must be an integer, got 'lots'"


def test_plan_schema_is_tightened_but_keeps_the_required_field() -> None:
    schema = bounded_schema(stage_schema("plan"), max_items=3, max_chars=40)
    plan = schema["properties"]["final_plan"]
    assert schema["required"] == ["final_plan"] and plan["required"] == ["work_breakdown"]
    steps = plan["properties"]["work_breakdown"]
    assert steps["minItems"] == 1 and steps["maxItems"] == 3
    assert steps["items"]["type"] == "string" and steps["items"]["pattern"].endswith("{2,39}$")
    assert set(plan["properties"]) == {"work_breakdown"}, "optional lists dropped"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"final_plan", "consensus"}


def test_categorical_schema_keeps_the_decision_enum_and_reasons() -> None:
    schema = bounded_schema(stage_schema("validate"), max_items=4, max_chars=100)
    assert schema["properties"]["decision"] == {"type": "string", "enum": ["approve", "reject"]}
    assert schema["properties"]["reasons"]["maxItems"] == 4


def test_missing_when_llama_cpp_cannot_be_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # `import llama_cpp` now fails
    agent = AgentConfig(name="a", driver="llama_cpp")
    ok, reason = LlamaCppDriver().available(agent)
    assert not ok and "install speckit[local]" in reason
    result = asyncio.run(LlamaCppDriver().run(request_for(agent, tmp_path)))
    assert result.status == "missing"
    assert result.error == "llama-cpp-python is not installed: install speckit[local]"


def test_missing_model_file(tmp_path: Path) -> None:
    agent = AgentConfig(name="a", driver="llama_cpp", model_path="models/none.gguf")
    result = asyncio.run(LlamaCppDriver().run(request_for(agent, tmp_path)))
    assert result.status == "missing"
    if "install speckit[local]" not in (result.error or ""):
        assert f"model file {tmp_path / 'models' / 'none.gguf'} not found" == result.error


def test_local_roster_is_a_valid_config_with_two_proposers_and_an_aggregator() -> None:
    config = Config.model_validate(tomllib.loads(local_roster_toml(args=("max_tokens=64",))))
    agents = config.agents
    assert set(agents) == {"local_a", "local_b", "local_c"}
    assert {a.driver for a in agents.values()} == {"llama_cpp"}
    assert [agents[n].role for n in ("local_a", "local_b", "local_c")] == [
        "proposer", "proposer", "aggregator"]  # fmt: skip
    assert len({a.seed for a in agents.values()}) == 3
    assert len({a.temperature for a in agents.values()}) == 3
    assert len({a.system_prompt for a in agents.values()}) == 3
    assert all(a.args == ["max_tokens=64"] for a in agents.values())
    for stage in STAGES:
        assert [a.name for a in config.stage_agents(stage)] == ["local_a", "local_b", "local_c"]


class BrokenWorker:
    """Stands in for the model's worker: its call fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def next_id(self) -> int:
        return 1

    async def generate(self, _request: object) -> None:
        raise self.error


@pytest.mark.parametrize("reported", [False, True])
def test_a_bug_keeps_its_traceback_an_error_the_worker_reported_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reported: bool
) -> None:
    from speckit.agents import llama_cpp, local_client

    error = local_client.WorkerError("bad token") if reported else IndexError("no such slot")
    model = tmp_path / "m.gguf"
    monkeypatch.setattr(llama_cpp, "llama_cpp_installed", lambda: True)
    monkeypatch.setattr(llama_cpp, "model_file", lambda _agent, _workdir: (model, "found"))
    monkeypatch.setattr(local_client, "worker_for", lambda *_args: BrokenWorker(error))
    agent = AgentConfig(name="a", driver="llama_cpp")
    request = request_for(agent, tmp_path)
    result = asyncio.run(LlamaCppDriver().run(request))
    assert result.status == "failed"
    stderr = tmp_path / "raw.txt.stderr"
    if reported:
        assert result.error == "bad token"
        assert not stderr.exists(), "the worker's own error needs no speckit traceback"
    else:
        assert result.error == "IndexError: no such slot"
        kept = stderr.read_text()
        assert "the llama_cpp driver raised" in kept and "in generate\n" in kept
        assert kept.rstrip().endswith("IndexError: no such slot")
