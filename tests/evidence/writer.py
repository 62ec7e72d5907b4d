"""A separate process that writes evidence, for the kill and concurrency tests.

usage: python writer.py bundles ROOT SPEC START_SECOND COUNT SIZE
       python writer.py append FILE TAG COUNT SIZE
       python writer.py same-second ROOT SPEC TIMESTAMP SESSION GO_FILE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from speckit.agents.result import AgentResult, Usage
from speckit.consensus.synthesis import synthesize
from speckit.evidence.jsonl import append_line
from speckit.pipeline.bundle import write_bundle

AGENTS = ["gemini", "claude", "gpt_pro"]


def results(size: int) -> list[AgentResult]:
    steps = [f"step {i} " + "x" * size for i in range(3)]
    answer = {"final_plan": {"work_breakdown": steps}}
    return [
        AgentResult(
            agent=a,
            driver="scripted",
            status="ok",
            parsed=answer,
            latency_ms=5,
            usage=Usage(input_tokens=10, output_tokens=5),
            cost_usd=0.001,
        )
        for a in AGENTS
    ]


def write(root: Path, spec: str, timestamp: str, session: str, size: int) -> None:
    found = results(size)
    synthesis = synthesize("plan", spec, AGENTS, found)
    write_bundle(root, spec, "plan", timestamp, session, "plan-v1", found, synthesis, None, True)


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "bundles":
        root, spec, start, count, size = (
            Path(argv[1]),
            argv[2],
            int(argv[3]),
            int(argv[4]),
            int(argv[5]),
        )
        for i in range(count):
            second = start + i
            stamp = f"2026-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
            write(root, spec, stamp, f"s{i}", size)
    elif mode == "append":
        path, tag, count, size = Path(argv[1]), argv[2], int(argv[3]), int(argv[4])
        for i in range(count):
            append_line(path, {"tag": tag, "seq": i, "pad": "y" * size})
    elif mode == "same-second":
        root, spec, stamp, session, go = Path(argv[1]), argv[2], argv[3], argv[4], Path(argv[5])
        while not go.exists():
            time.sleep(0.001)
        write(root, spec, stamp, session, 100)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
