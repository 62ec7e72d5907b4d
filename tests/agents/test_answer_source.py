"""A real `command` agent whose text holds several JSON objects: which one is its answer."""

from __future__ import annotations

import sys
from pathlib import Path

from speckit.agents.runner import run_agent
from speckit.answers.schemas import stage_schema
from tests.agents.conftest import make_agent, make_request, run

REAL = '{"final_plan": {"work_breakdown": ["Add limiter", "Return 429"]}}'
TEXT = (
    'An answer looks like {"final_plan": {"work_breakdown": []}}; here is mine:\n'
    f'{REAL}\nwith the setting {{"limit": 5}} in config.\n'
)


def _answer(tmp_path: Path, with_schema: bool) -> tuple[object, object]:
    agent = make_agent("shown", "command", command=[sys.executable, "-c", f"print({TEXT!r})"])
    schema = stage_schema("plan") if with_schema else None
    request = make_request(agent, tmp_path, stage="plan", schema=schema)
    result = run(run_agent(request))
    assert result.status == "ok", result.error
    return result.parsed, result.json_source


def test_a_stage_request_takes_the_last_object_matching_its_schema(tmp_path: Path) -> None:
    parsed, source = _answer(tmp_path, with_schema=True)
    assert parsed == {"final_plan": {"work_breakdown": ["Add limiter", "Return 429"]}}
    assert source == {"index": 2, "of": 3, "why": "last object matching the plan schema"}


def test_a_request_without_a_schema_takes_the_last_object(tmp_path: Path) -> None:
    parsed, source = _answer(tmp_path, with_schema=False)  # e.g. a policy agent's call
    assert parsed == {"limit": 5}
    assert source == {"index": 3, "of": 3, "why": "last object"}
