"""The llama_cpp driver with the real packaged model: schema answers, usage, sharing, cuts."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from speckit.agents.llama_cpp import loaded_models, packaged_model_path
from speckit.agents.local_client import live_workers
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.agents.runner import run_stage_agents
from speckit.answers.schemas import check_answer, stage_schema
from speckit.config import AgentConfig
from speckit.stages import STAGES
from tests.local.conftest import SAMPLE_SPEC, TEST_ARGS, needs_local

pytestmark = [pytest.mark.local, needs_local]

PROMPT = (
    "Plan the work for the SPEC below. Reply with one JSON object: "
    '{"final_plan": {"work_breakdown": ["short step", "..."]}}\n\n' + SAMPLE_SPEC
)


def agent(name: str, seed: int, temperature: float, system: str, *extra: str) -> AgentConfig:
    return AgentConfig(
        name=name,
        driver="llama_cpp",
        model="smollm2-135m-instruct",
        seed=seed,
        temperature=temperature,
        system_prompt=system,
        args=[*TEST_ARGS, *extra],
        timeout=120,
    )


def request(config: AgentConfig, tmp_path: Path, prompt: str = PROMPT) -> AgentRequest:
    return AgentRequest(
        agent=config,
        prompt=prompt,
        workdir=tmp_path,
        raw_output_path=tmp_path / f"{config.name}_raw.txt",
        stage="plan",
        schema=stage_schema("plan"),
    )


def test_three_agents_share_one_model_and_answer_in_the_stage_schema(tmp_path: Path) -> None:
    # Room for the longest answer the grammar allows (9 strings of 48 characters).
    room = "max_tokens=280"
    roster = [
        agent("a", 11, 0.2, "You are a careful planner.", room),
        agent("b", 22, 0.8, "You are a sceptical reviewer.", room),
        agent("c", 33, 0.5, "You list tests first.", room),
    ]
    results = asyncio.run(run_stage_agents([request(a, tmp_path) for a in roster]))
    assert [r.agent for r in results] == ["a", "b", "c"]
    for result in results:
        assert result.status == "ok", result.error
        assert check_answer("plan", result.parsed) is None, result.text
        assert (result.usage.input_tokens or 0) > 50, "the prompt was really tokenized"
        assert (result.usage.output_tokens or 0) > 5, "the model really generated"
        assert result.latency_ms > 0
        assert (result.cost_usd, result.cost_source) == (0.0, "local")
        assert Path(result.raw_output_path or "").read_text() == result.text
    model = packaged_model_path()
    assert model is not None
    same_file = [
        key for key in loaded_models() if key[0] == str(model.resolve()) and key[1] == 2048
    ]
    assert len(same_file) == 1, "one loaded model serves all three agents"
    worker = live_workers()[same_file[0]]
    assert worker.pid is not None and worker.pid != os.getpid(), "the model runs in a child"
    assert worker.starts == 1, "loaded once for the three agents"


def test_long_prompt_is_cut_to_the_context_window_and_says_so(tmp_path: Path) -> None:
    filler = "\n".join(
        f"- background note {i}: the login service logs every attempt." for i in range(400)
    )
    config = agent("cut", 5, 0.2, "You are a careful planner.", "n_ctx=768", "max_tokens=160")
    result = asyncio.run(run_stage_agents([request(config, tmp_path, PROMPT + filler)]))[0]
    assert result.status in ("ok", "invalid")
    assert "prompt cut from" in (result.error or "") and "n_ctx=768" in (result.error or "")
    assert 0 < (result.usage.input_tokens or 0) <= 768


def test_timeout_is_reported_as_timeout(tmp_path: Path) -> None:
    config = agent("slow", 7, 0.2, "You are a careful planner.").model_copy(
        update={"timeout": 0.05}
    )
    result: AgentResult = asyncio.run(run_stage_agents([request(config, tmp_path)]))[0]
    assert result.status == "timeout"
    assert result.error == "timed out after 0.05s"


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_gets_an_answer_its_schema_accepts(stage: str, tmp_path: Path) -> None:
    config = agent(f"s_{stage}", 3, 0.3, "You answer in JSON.", "max_tokens=280")
    prompt = f"Work the {stage} stage of this SPEC. Reply with one JSON object.\n\n{SAMPLE_SPEC}"
    req = request(config, tmp_path, prompt)
    req.stage, req.schema = stage, stage_schema(stage)
    result = asyncio.run(run_stage_agents([req]))[0]
    assert result.status == "ok", result.error
    assert check_answer(stage, result.parsed) is None, result.text
