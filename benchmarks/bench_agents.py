"""Parallel agent runs: five proposers of 1.0 s each should take ~1 s, not 5 s.

Target: proposer phase ≤ 1.10 s wall for five scripted agents of 1.0 s each
(sequential would take 5 s). Also measured: five real subprocess agents
(`command` driver, each sleeping 1.0 s) through the full process-group path.
Run:  python benchmarks/bench_agents.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from speckit.agents.request import AgentRequest
from speckit.agents.runner import run_stage_agents_sync
from speckit.config import AgentConfig

SCRIPT = """
[stages.default.default]
delay = 1.0
answer = { final_plan = { work_breakdown = ["step one", "step two"] } }
"""
SLEEPER = 'import time; time.sleep(1.0); print(\'{"final_plan": {"work_breakdown": ["x"]}}\')'
RUNS = 3


def _agent(name: str, **fields: object) -> AgentConfig:
    agent = AgentConfig.model_validate({"timeout": 30, **fields})
    agent.name = name
    return agent


def _requests(root: Path, driver: str) -> list[AgentRequest]:
    requests = []
    for n in range(5):
        if driver == "scripted":
            agent = _agent(f"agent{n}", driver="scripted", script="script.toml")
        else:
            agent = _agent(f"agent{n}", driver="command", command=[sys.executable, "-c", SLEEPER])
        requests.append(AgentRequest(agent, "plan it", root, root / "raw" / f"{driver}{n}.out"))
    return requests


def _median_wall(requests: list[AgentRequest]) -> tuple[float, list[str]]:
    timings = []
    statuses: list[str] = []
    for _ in range(RUNS):
        start = time.perf_counter()
        results = run_stage_agents_sync(requests)
        timings.append(time.perf_counter() - start)
        statuses = [r.status for r in results]
    return statistics.median(timings), statuses


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        (root / "script.toml").write_text(SCRIPT)
        scripted, statuses = _median_wall(_requests(root, "scripted"))
        print(
            f"5 scripted proposers x 1.0 s   median {scripted:5.3f} s wall   "
            f"(target <= 1.10 s; sequential 5 s; {statuses.count('ok')}/5 ok)"
        )
        spawned, statuses = _median_wall(_requests(root, "command"))
        print(
            f"5 subprocess proposers x 1.0 s median {spawned:5.3f} s wall   "
            f"(process groups, capture, parse; {statuses.count('ok')}/5 ok)"
        )


if __name__ == "__main__":
    main()
