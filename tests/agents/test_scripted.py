"""The scripted agent: lookup order, defaults, every failure mode, both file formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from speckit.agents.process import MEMORY_CAP
from speckit.agents.result import AgentResult
from speckit.agents.runner import is_available, run_agent
from speckit.config import AgentConfig, PriceOverride
from tests.agents.conftest import make_agent, make_request, run

SCRIPT = """
[defaults]
delay = 0.0
usage = { input_tokens = 1000, output_tokens = 200 }

[stages.plan.gemini]
answer = { final_plan = { work_breakdown = ["Add a limiter", "Test it"] } }
usage = { input_tokens = 1200, output_tokens = 340, cache_read_tokens = 100 }
model = "gemini-2.5-pro"

[stages.plan.claude]
mode = "fail"
error = "HTTP 429: rate limited"
exit_code = 2

[stages.plan.default]
text = "Sure.\\n```json\\n{\\"final_plan\\": {\\"work_breakdown\\": [\\"x\\"]}}\\n```"

[stages.default.claude]
answer = { decision = "reject" }
cost_usd = 0.0125

[stages.default.default]
answer = { decision = "approve" }

[stages.tasks.slow]
mode = "timeout"

[stages.tasks.late]
delay = 5.0
answer = { validated_tasks = ["a"] }

[stages.tasks.broken]
mode = "invalid_json"

[stages.tasks.noisy]
mode = "garbage"

[stages.tasks.huge]
mode = "huge"
size_mb = 10.5
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    path = work / "script.toml"
    path.write_text(SCRIPT)
    return path


def scripted(name: str, **fields: Any) -> AgentConfig:
    fields.setdefault("script", "script.toml")
    return make_agent(name, "scripted", **fields)


def ask(name: str, stage: str, tmp_path: Path, **fields: Any) -> AgentResult:
    return run(run_agent(make_request(scripted(name, **fields), tmp_path, stage=stage)))


def test_agent_and_stage_specific_answer(script: Path, tmp_path: Path) -> None:
    result = ask("gemini", "plan", tmp_path)
    assert result.status == "ok"
    assert result.parsed == {"final_plan": {"work_breakdown": ["Add a limiter", "Test it"]}}
    assert json.loads(result.text) == result.parsed
    assert (
        result.usage.input_tokens,
        result.usage.output_tokens,
        result.usage.cache_read_tokens,
    ) == (
        1200,
        340,
        100,
    )
    assert result.model == "gemini-2.5-pro"
    assert result.cost_source == "priced"  # a model the price library knows
    assert Path(result.raw_output_path or "").read_text() == result.text


def test_fallback_order(script: Path, tmp_path: Path) -> None:
    assert ask("other", "plan", tmp_path).parsed == {"final_plan": {"work_breakdown": ["x"]}}
    claude = ask("claude", "validate", tmp_path)
    assert claude.parsed == {"decision": "reject"}
    assert (claude.cost_usd, claude.cost_source) == (0.0125, "reported")
    assert ask("other", "audit", tmp_path).parsed == {"decision": "approve"}


def test_defaults_apply_under_entries(script: Path, tmp_path: Path) -> None:
    result = ask("other", "unlock", tmp_path)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1000, 200)
    assert (result.cost_usd, result.cost_source) == (None, "unknown")  # no model, no override
    priced = ask(
        "other", "unlock", tmp_path, price=PriceOverride(input_per_mtok=1, output_per_mtok=5)
    )
    assert priced.cost_usd == pytest.approx((1000 * 1 + 200 * 5) / 1e6)


def test_fail_mode(script: Path, tmp_path: Path) -> None:
    result = ask("claude", "plan", tmp_path)
    assert (result.status, result.error, result.exit_code) == (
        "failed",
        "HTTP 429: rate limited",
        2,
    )


def test_timeout_mode_and_a_delay_past_the_time_box(script: Path, tmp_path: Path) -> None:
    slow = ask("slow", "tasks", tmp_path, timeout=0.2)
    assert (slow.status, slow.error) == ("timeout", "timed out after 0.2s")
    late = ask("late", "tasks", tmp_path, timeout=0.2)
    assert late.status == "timeout"


def test_invalid_json_and_garbage_are_invalid(script: Path, tmp_path: Path) -> None:
    broken = ask("broken", "tasks", tmp_path)
    assert broken.status == "invalid"
    assert broken.text.startswith('{"final_plan"')
    noisy = ask("noisy", "tasks", tmp_path)
    assert noisy.status == "invalid"
    assert "{" not in noisy.text and len(noisy.text) > 100
    assert ask("noisy", "tasks", tmp_path).text == noisy.text  # deterministic


def test_huge_mode_is_written_in_full_and_capped_in_memory(script: Path, tmp_path: Path) -> None:
    result = ask("huge", "tasks", tmp_path)
    assert result.status == "invalid"
    assert Path(result.raw_output_path or "").stat().st_size > MEMORY_CAP
    assert len(result.text) <= MEMORY_CAP
    assert result.error is not None and "cap" in result.error


def test_json_script_and_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(
        json.dumps({"stages": {"default": {"default": {"answer": {"checklist": ["a"]}}}}})
    )
    result = ask("any", "implement", tmp_path, script=str(path))
    assert (result.status, result.parsed) == ("ok", {"checklist": ["a"]})
    # usage is estimated from the text sizes when the script gives none
    assert result.usage.input_tokens == len("Answer with one JSON object.") // 4
    assert result.usage.output_tokens == len(result.text) // 4


def test_missing_script_file_is_missing(tmp_path: Path) -> None:
    agent = scripted("ghost", script="nope.toml")
    result = run(run_agent(make_request(agent, tmp_path)))
    assert result.status == "missing"
    assert is_available(agent, tmp_path)[0] is False


def test_script_problems_are_one_line_failures(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "typo.toml").write_text("[stages.plan.a]\nanser = {}\n")
    result = ask("a", "plan", tmp_path, script="typo.toml")
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("script entry stages.plan.a: anser")
    (work / "empty.toml").write_text("[stages.tasks.a]\ntext = 'x'\n")
    result = ask("a", "plan", tmp_path, script="empty.toml")
    assert result.error == "script has no entry for stage 'plan' and agent 'a'"
    (work / "bad.toml").write_text("[stages\n")
    assert ask("a", "plan", tmp_path, script="bad.toml").status == "failed"
