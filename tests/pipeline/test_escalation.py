"""`[consensus] mode = "escalate"` (issue 15 §3): the first tier decides when it agrees and
the other proposers never start; otherwise the whole panel runs. Real CLI, real subprocess
agents (`command` agents that log each call to a file outside the workspace), real git."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from speckit.telemetry.validate import validate_jsonl
from tests.conftest import CliRunner
from tests.pipeline.conftest import ScriptedWorkspace, make_scripted

PLAN = [
    "Add the rate limiter middleware to the login route",
    "Store failed attempts per IP in Redis with a 15 minute window",
    "Return HTTP 429 with a Retry-After header when the limit is hit",
]
OTHER_PLAN = [
    "Rewrite the login service in Rust",
    "Move sessions to signed cookies",
    "Delete the legacy password table",
]


class Stand:
    """Command agents answering from files in `home`; each call appends its name to a log."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "calls.log"

    def agent(self, name: str, price: tuple[float, float] | None, role: str = "proposer") -> str:
        answer = self.home / f"{name}.json"
        script = f'echo {name} >> "{self.log}"; cat > /dev/null; cat "{answer}"'
        lines = [
            f"[agents.{name}]",
            'driver = "command"',
            f"command = {json.dumps(['sh', '-c', script])}",
            f'role = "{role}"',
            "timeout = 20",
        ]
        if price is not None:
            lines.append(f"price = {{ input_per_mtok = {price[0]}, output_per_mtok = {price[1]} }}")
        return "\n".join(lines) + "\n\n"

    def answer(self, name: str, data: dict[str, Any]) -> None:
        (self.home / f"{name}.json").write_text(json.dumps(data))

    def calls(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


# Configured dearest first and the unpriced agent first of all: the default tier is chosen by
# price (unknown counts as dearest), not by position.
AGENTS = ["unpriced", "dear", "cheap_b", "cheap_a", "agg"]


def _roster(stand: Stand, first: list[str] | None = None) -> str:
    roster = (
        stand.agent("unpriced", None)
        + stand.agent("dear", (5.0, 25.0))
        + stand.agent("cheap_b", (0.3, 1.2))
        + stand.agent("cheap_a", (0.1, 0.4))
        + stand.agent("agg", (2.0, 8.0), role="aggregator")
    )
    first_line = f"first = {json.dumps(first)}\n" if first else ""
    for stage in ("plan", "validate"):
        roster += f"[stages.{stage}]\nagents = {json.dumps(AGENTS)}\n{first_line}\n"
    return roster


def _workspace(
    root: Path, stand: Stand, *, first: list[str] | None = None, mode: str = "escalate"
) -> ScriptedWorkspace:
    scripted = make_scripted(root)
    scripted.configure(_roster(stand, first))
    config = scripted.root / "speckit.toml"
    text = config.read_text()
    assert 'mode = "panel"' in text, "the template lists [consensus] mode"
    config.write_text(text.replace('mode = "panel"', f'mode = "{mode}"'))
    scripted.commit()
    return scripted


def _plan(steps: list[str]) -> dict[str, Any]:
    return {"final_plan": {"work_breakdown": steps}, "consensus": {"conflicts": []}}


def _telemetry(scripted: ScriptedWorkspace, stage: str) -> dict[str, Any]:
    [path] = scripted.consensus_dir().glob(f"spec-{stage}_*_telemetry.jsonl")
    assert validate_jsonl(path) == (1, []), "one schema-v2 valid telemetry line"
    line: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return line


@pytest.fixture
def stand(tmp_path: Path) -> Stand:
    return Stand(tmp_path / "stand")


def test_agreeing_first_tier_decides_and_the_others_never_start(
    cli: CliRunner, tmp_path: Path, stand: Stand
) -> None:
    scripted = _workspace(tmp_path / "ws", stand)
    for name in ("cheap_a", "cheap_b", "dear", "unpriced"):
        stand.answer(name, _plan(PLAN))
    stand.answer("agg", _plan(PLAN))
    result = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = stand.calls()
    assert sorted(calls[:2]) == ["cheap_a", "cheap_b"] and calls[2:] == ["agg"]
    synthesis = json.loads(result.stdout)
    assert synthesis["status"] == "ok"
    assert synthesis["mode"] == "escalate" and synthesis["decided_by"] == "first"
    assert synthesis["first_tier"] == ["cheap_b", "cheap_a"]  # configured order
    assert synthesis["not_called"] == ["unpriced", "dear"]
    assert synthesis["expected_agents"] == ["cheap_b", "cheap_a", "agg"]
    assert synthesis["missing_agents"] == [] and synthesis["escalated"] is False
    assert synthesis["agreement_ratio"] == 1.0
    assert any(
        r.startswith("decided by the first tier (cheap_b, cheap_a): they agreed (3 of 3 items")
        and r.endswith("not needed: unpriced, dear")
        for r in synthesis["reasons"]
    )
    files = {p.name for p in scripted.consensus_dir().iterdir()}
    assert not any("_dear" in f or "_unpriced" in f for f in files), "no evidence: never run"
    line = _telemetry(scripted, "plan")
    consensus = line["consensus"]
    assert consensus["escalation_triggered"] is False and consensus["escalation_reason"] is None
    assert consensus["decided_by"] == "first" and consensus["not_called"] == ["unpriced", "dear"]
    assert [a["agent"] for a in consensus["agents"]] == ["cheap_b", "cheap_a", "agg"]
    assert consensus["agreement_ratio"] == 1.0
    rejudged = cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json")
    [verdict] = json.loads(rejudged.stdout)
    assert verdict["status"] == verdict["recorded_status"] == "ok", "not called is not missing"


def test_disagreeing_first_tier_calls_the_panel(
    cli: CliRunner, tmp_path: Path, stand: Stand
) -> None:
    scripted = _workspace(tmp_path / "ws", stand)
    stand.answer("cheap_a", _plan(PLAN))
    stand.answer("cheap_b", _plan(OTHER_PLAN))
    stand.answer("dear", _plan(PLAN))
    stand.answer("unpriced", _plan(PLAN[:2]))
    stand.answer("agg", _plan(PLAN))
    result = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = stand.calls()
    assert sorted(calls[:2]) == ["cheap_a", "cheap_b"], "the first tier first"
    assert sorted(calls[2:4]) == ["dear", "unpriced"] and calls[4:] == ["agg"]
    synthesis = json.loads(result.stdout)
    assert synthesis["escalated"] is True and synthesis["decided_by"] == "panel"
    assert synthesis["not_called"] == []
    assert synthesis["expected_agents"] == AGENTS
    reason = "first tier disagreed: proposals diverge: 0 of 6 items shared (0% < min_agreement 50%)"
    assert synthesis["escalation_reason"] == reason
    assert synthesis["status"] == "ok", "the panel decides: three of four proposals agree"
    assert synthesis["min_agreement"] is None, "the tier's default 0.5 does not judge the panel"
    consensus = _telemetry(scripted, "plan")["consensus"]
    assert consensus["escalation_triggered"] is True
    assert consensus["escalation_reason"] == reason
    assert consensus["decided_by"] == "panel"
    assert len(consensus["agents"]) == 5


def test_explicit_first_tier_split_decision_escalates(
    cli: CliRunner, tmp_path: Path, stand: Stand
) -> None:
    scripted = _workspace(tmp_path / "ws", stand, first=["dear", "unpriced"])
    approve = {"decision": "approve", "reasons": ["tests pass"]}
    stand.answer("dear", approve)
    stand.answer("unpriced", {"decision": "reject", "reasons": ["no load test"]})
    for name in ("cheap_a", "cheap_b", "agg"):
        stand.answer(name, approve)
    result = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    synthesis = json.loads(result.stdout)
    assert sorted(stand.calls()[:2]) == ["dear", "unpriced"]
    assert len(stand.calls()) == 5
    assert synthesis["first_tier"] == ["unpriced", "dear"]
    assert synthesis["escalation_reason"] == (
        "first tier disagreed: decisions differ: unpriced reject, dear approve"
    )
    assert synthesis["status"] == "conflict", "the panel still sees unpriced's reject"
    assert result.returncode == 2


def test_explicit_first_tier_agreeing_on_a_decision(
    cli: CliRunner, tmp_path: Path, stand: Stand
) -> None:
    scripted = _workspace(tmp_path / "ws", stand, first=["dear", "cheap_a"])
    for name in AGENTS:
        stand.answer(name, {"decision": "approve", "reasons": [f"{name} checked it"]})
    result = cli("run", "validate", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(stand.calls()) == ["agg", "cheap_a", "dear"]
    synthesis = json.loads(result.stdout)
    assert synthesis["decided_by"] == "first" and synthesis["decision"] == "approve"
    assert synthesis["agreement_ratio"] is None, "validate is judged by decision"
    assert synthesis["not_called"] == ["unpriced", "cheap_b"]


def test_failed_first_tier_agent_escalates(cli: CliRunner, tmp_path: Path, stand: Stand) -> None:
    scripted = _workspace(tmp_path / "ws", stand)
    stand.answer("cheap_a", _plan(PLAN))
    (stand.home / "cheap_b.json").write_text("I could not do it")  # no JSON: invalid
    for name in ("dear", "unpriced", "agg"):
        stand.answer(name, _plan(PLAN))
    result = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    synthesis = json.loads(result.stdout)
    assert synthesis["escalated"] is True
    assert synthesis["escalation_reason"].startswith("first tier disagreed: cheap_b (invalid")
    assert synthesis["status"] == "degraded", "cheap_b did run and fail: that is honest"
    assert result.returncode == 3


def test_panel_mode_runs_every_agent_and_records_the_ratio(
    cli: CliRunner, tmp_path: Path, stand: Stand
) -> None:
    scripted = _workspace(tmp_path / "ws", stand, mode="panel")
    for name in AGENTS:
        stand.answer(name, _plan(PLAN))
    result = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(stand.calls()[:4]) == ["cheap_a", "cheap_b", "dear", "unpriced"]
    synthesis = json.loads(result.stdout)
    assert synthesis["mode"] == "panel" and synthesis["decided_by"] == "panel"
    assert synthesis["agreement_ratio"] == 1.0 and synthesis["not_called"] == []
    consensus = _telemetry(scripted, "plan")["consensus"]
    assert consensus["escalation_triggered"] is False and consensus["disagreement_points"] == []


A_PLAN = ["Add limiter", "Return 429", "Load test"]
B_PLAN = ["Rewrite in Rust", "Signed cookies", "Drop table"]
DIVERGE = "".join(
    f"[stages.plan.{agent}.answer.final_plan]\nwork_breakdown = {json.dumps(steps)}\n\n"
    for agent, steps in (("gemini", A_PLAN), ("claude", B_PLAN), ("gpt_pro", A_PLAN + B_PLAN))
)


def test_min_agreement_turns_two_different_plans_into_a_conflict(
    cli: CliRunner, tmp_path: Path
) -> None:
    scripted = make_scripted(tmp_path / "ws", DIVERGE)
    before = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert before.returncode == 0, "without min_agreement the aggregator's merge passes"
    assert json.loads(before.stdout)["agreement_ratio"] == 0.0
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace("# min_agreement = 0.5", "min_agreement = 0.5"))
    scripted.commit()
    after = cli("run", "plan", scripted.spec_id, "--json", cwd=scripted.root)
    assert after.returncode == 2, after.stdout + after.stderr
    synthesis = json.loads(after.stdout)
    divergence = "proposals diverge: 0 of 6 items shared (0% < min_agreement 50%)"
    assert synthesis["status"] == "conflict" and synthesis["conflicts"] == [divergence]
    shown = cli("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert f"conflict: {divergence}" in shown.stdout
    [*_, newest] = sorted(scripted.consensus_dir().glob("spec-plan_*_telemetry.jsonl"))
    consensus = json.loads(newest.read_text().splitlines()[0])["consensus"]
    assert consensus["disagreement_detected"] is True
    assert consensus["disagreement_points"][0] == divergence
    assert "only claude: Rewrite in Rust" in consensus["disagreement_points"]
    assert consensus["min_agreement"] == 0.5 and consensus["agreement_ratio"] == 0.0
    # re-judged from the evidence, the run that judged with min_agreement is a conflict again
    rejudged = cli("consensus", "rejudge", str(scripted.consensus_dir()), "--json")
    assert rejudged.returncode == 0, rejudged.stderr
    statuses = [(v["recorded_status"], v["status"]) for v in json.loads(rejudged.stdout)]
    assert statuses.count(("conflict", "conflict")) == 2, statuses
    assert ("ok", "ok") in statuses  # the run before min_agreement was set


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('first = ["cheap_a", "ghost"]', "stages.plan.first names agent 'ghost', not in"),
        ('first = ["cheap_a", "agg"]', "stages.plan.first names 'agg', the stage's aggregator"),
        ('first = ["cheap_a"]', "stages.plan.first names one agent; a first tier needs two"),
        ('first = "cheap_a"', "stages.plan.first must be a list"),
    ],
)
def test_bad_first_is_a_one_line_error_at_load(
    cli: CliRunner, tmp_path: Path, stand: Stand, edit: str, message: str
) -> None:
    scripted = _workspace(tmp_path / "ws", stand)
    config = scripted.root / "speckit.toml"
    roster = _roster(stand)
    # `ghost` is a known agent that is not in the plan stage: not in stages.plan.agents
    extra = stand.agent("ghost", (1.0, 1.0)) if "ghost" in edit else ""
    text = config.read_text()
    marker = f"[stages.plan]\nagents = {json.dumps(AGENTS)}\n"
    assert marker in text and roster
    config.write_text(extra + text.replace(marker, marker + edit + "\n", 1))
    result = cli("agents", "list", cwd=scripted.root)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('mode = "cheap"', "consensus.mode"),
        ("min_agreement = 1.5", "consensus.min_agreement"),
        ('min_agreement = "half"', "consensus.min_agreement must be a number"),
    ],
)
def test_bad_consensus_settings_are_one_line_errors(
    cli: CliRunner, tmp_path: Path, stand: Stand, edit: str, message: str
) -> None:
    scripted = _workspace(tmp_path / "ws", stand, mode="panel")
    config = scripted.root / "speckit.toml"
    key = edit.split(" ")[0]
    text = config.read_text()
    text = text.replace('mode = "panel"\n', "") if key == "mode" else text
    config.write_text(text.replace("[consensus]\n", f"[consensus]\n{edit}\n", 1))
    result = cli("agents", "list", cwd=scripted.root)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_valid_escalate_settings_take_the_fast_config_path(tmp_path: Path, stand: Stand) -> None:
    """config_fast builds a plainly valid file without pydantic's validators; the new `first`
    check still runs there (a bad one falls back to pydantic, which words the error)."""
    import tomllib

    from speckit.config import Config
    from speckit.config_fast import construct

    scripted = _workspace(tmp_path / "ws", stand, first=["dear", "cheap_a"])
    config = scripted.root / "speckit.toml"
    text = config.read_text().replace("# min_agreement = 0.5", "min_agreement = 0.6")
    data = tomllib.loads(text)
    fast = construct(Config, data)
    assert fast is not None, "a valid escalate config is built on the fast path"
    assert fast.consensus.mode == "escalate" and fast.consensus.min_agreement == 0.6
    assert fast.stage_first("plan") == ["dear", "cheap_a"]
    assert fast == Config.model_validate(data)
    data["stages"]["plan"]["first"] = ["dear", "agg"]
    assert construct(Config, data) is None, "the check ran: pydantic decides and words it"
