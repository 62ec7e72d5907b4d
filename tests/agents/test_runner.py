"""The stage runner: proposers truly concurrent, aggregator sees every proposal, progress events."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult
from speckit.agents.runner import run_stage_agents, run_stage_agents_sync
from tests.agents.conftest import make_agent, make_request, run

SCRIPT = """
[stages.plan.default]
delay = 0.05
answer = { final_plan = { work_breakdown = ["step"] } }

[stages.plan.broken]
mode = "fail"
error = "no quota"
"""

# Each proposer touches its own flag file, then waits until every proposer's flag exists.
# Run one after another, the first would give up; run concurrently, all answer.
BARRIER = """
import pathlib, sys, time
folder, me, count = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(folder / me).touch()
deadline = time.monotonic() + 20
while len(list(folder.iterdir())) < count:
    if time.monotonic() > deadline:
        sys.exit(7)
    time.sleep(0.01)
print('{"final_plan": {"work_breakdown": ["' + me + '"]}}')
"""


def test_proposers_run_concurrently_as_real_processes(tmp_path: Path) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    names = ["p1", "p2", "p3", "p4"]
    requests = [
        make_request(
            make_agent(
                name,
                "command",
                command=[sys.executable, "-c", BARRIER, str(flags), name, str(len(names))],
                timeout=30,
            ),
            tmp_path,
        )
        for name in names
    ]
    results = run_stage_agents_sync(requests)
    assert [r.agent for r in results] == names
    assert [r.status for r in results] == ["ok"] * 4, [r.error for r in results]
    assert [r.parsed for r in results] == [
        {"final_plan": {"work_breakdown": [name]}} for name in names
    ]


def _scripted_requests(tmp_path: Path, names: list[str]) -> list[AgentRequest]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "script.toml").write_text(SCRIPT)
    return [make_request(make_agent(n, "scripted", script="script.toml"), tmp_path) for n in names]


def test_aggregator_receives_every_proposal_and_comes_last(tmp_path: Path) -> None:
    proposers = _scripted_requests(tmp_path, ["gemini", "broken", "claude"])
    seen: list[list[AgentResult]] = []

    def make_aggregator(results: list[AgentResult]) -> AgentRequest:
        seen.append(results)
        return _scripted_requests(tmp_path, ["gpt_pro"])[0]

    events: list[tuple[str, str, str | None]] = []
    results = run_stage_agents_sync(
        proposers,
        make_aggregator,
        lambda name, state, result: events.append((name, state, result.status if result else None)),
    )
    [proposals] = seen
    assert [(r.agent, r.status) for r in proposals] == [
        ("gemini", "ok"),
        ("broken", "failed"),
        ("claude", "ok"),
    ]
    assert [r.agent for r in results] == ["gemini", "broken", "claude", "gpt_pro"]
    assert results[:3] == proposals
    # every proposer starts before any finishes; the aggregator runs after all of them
    assert [e[1] for e in events[:3]] == ["running"] * 3
    assert events[-2:] == [("gpt_pro", "running", None), ("gpt_pro", "done", "ok")]
    assert sorted(e[0] for e in events if e[1] == "done") == sorted(
        ["gemini", "broken", "claude", "gpt_pro"]
    )


def test_no_aggregator_when_the_factory_declines(tmp_path: Path) -> None:
    proposers = _scripted_requests(tmp_path, ["a", "b"])
    results = run_stage_agents_sync(proposers, lambda _results: None)
    assert [r.agent for r in results] == ["a", "b"]


def test_latency_is_measured_per_agent(tmp_path: Path) -> None:
    [result] = run_stage_agents_sync(_scripted_requests(tmp_path, ["a"]))
    assert result.latency_ms >= 50  # the scripted delay


def test_one_cancelled_proposer_is_reported_cancelled(tmp_path: Path) -> None:
    proposers = _scripted_requests(tmp_path, ["a", "b"])
    slow = make_agent(
        "slow", "command", command=[sys.executable, "-c", "import time; time.sleep(30)"]
    )
    proposers.append(make_request(slow, tmp_path))

    async def scenario() -> list[AgentResult]:
        def on_progress(name: str, state: str, _result: AgentResult | None) -> None:
            if name == "slow" and state == "running":
                task = asyncio.current_task()
                assert task is not None
                asyncio.get_running_loop().call_later(0.3, task.cancel)

        return await run_stage_agents(proposers, None, on_progress)

    results = run(scenario())
    assert [(r.agent, r.status) for r in results] == [
        ("a", "ok"),
        ("b", "ok"),
        ("slow", "cancelled"),
    ]
