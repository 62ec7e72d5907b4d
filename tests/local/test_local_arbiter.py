"""A real local model as the arbiter: its grammar carries the arbiter's keys, so it can rule.

llama_cpp keeps only a schema's required keys (and a few known optional ones) in its
grammar: asked with the stage schema, the arbiter could never say `resolved`, and the
conflict could never be settled. A 135M model rules as it likes; what is checked is
that its ruling keeps `resolved`, `decision` and `rationale`, and that the verdict
follows the ruling it gave.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speckit.answers.schemas import arbiter_schema
from tests.conftest import CliRunner
from tests.local.conftest import TEST_ARGS, make_workspace, needs_local

ROSTER = f"""
[agents.gemini]
driver = "scripted"
script = "agents.toml"

[agents.claude]
driver = "scripted"
script = "agents.toml"

[agents.judge]
driver = "llama_cpp"
model = "smollm2-135m-instruct"
role = "arbiter"
timeout = 240
seed = 7
temperature = 0.2
args = {json.dumps([*TEST_ARGS, "max_tokens=200"])}

[stages.validate]
agents = ["gemini", "claude"]
"""
CONFLICT = """
[stages.validate.gemini]
answer = { decision = "approve", reasons = ["the tests cover both criteria"] }

[stages.validate.claude]
answer = { decision = "reject", reasons = ["no test resets the counter"] }
"""


def test_the_grammar_keeps_the_arbiters_keys() -> None:
    """No model needed: what the driver's grammar allows for the arbiter's schema."""
    from speckit.agents.llama_cpp import bounded_schema

    grammar = bounded_schema(arbiter_schema("validate"), max_items=3, max_chars=48)
    assert {"resolved", "decision", "rationale", "reasons"} <= set(grammar["properties"])
    assert {"resolved", "decision", "rationale"} <= set(grammar["required"])


@pytest.mark.local
@needs_local
@pytest.mark.timeout(300)
def test_local_arbiter_rules_on_a_conflict(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    spec_id = make_workspace(root, ROSTER)
    (root / "agents.toml").write_text(CONFLICT)
    config = root / "speckit.toml"
    config.write_text(config.read_text().replace('# arbiter = "claude"', 'arbiter = "judge"'))
    result = cli("run", "validate", spec_id, "--json", cwd=root, timeout=280)
    synthesis = json.loads(result.stdout)
    block = synthesis["arbiter"]
    assert block["agent"] == "judge" and block["previous_status"] == "conflict"
    assert block["status"] == "ok", block["reason"]
    folder = root / "evidence" / "consensus" / spec_id
    ruling = json.loads(next(folder.glob("spec-validate_*_judge.json")).read_text())
    assert {"resolved", "decision", "rationale"} <= set(ruling), ruling
    assert isinstance(ruling["resolved"], bool) and ruling["decision"] in ("approve", "reject")
    assert block["rationale"] == ruling["rationale"] and block["decision"] == ruling["decision"]
    # The verdict follows the ruling the model gave, whichever it was.
    assert synthesis["arbiter_override"] is ruling["resolved"]
    assert synthesis["status"] == ("ok" if ruling["resolved"] else "conflict")
    assert result.returncode == (0 if ruling["resolved"] else 2), result.stderr
    metrics = json.loads(next(folder.glob("spec-validate_*_judge_metrics.json")).read_text())
    assert metrics["role"] == "arbiter" and metrics["cost_source"] == "local"
    assert (metrics["completion_tokens"] or 0) > 5, "the model really generated the ruling"
    rejudged = cli("consensus", "rejudge", str(folder), "--json")
    [verdict] = json.loads(rejudged.stdout)
    assert verdict["status"] == verdict["recorded_status"] == synthesis["status"]
