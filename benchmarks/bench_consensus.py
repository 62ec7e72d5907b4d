"""Consensus and telemetry speed: plain script, prints figures (targets in brackets).

    python benchmarks/bench_consensus.py

- synthesis of 5 agents x 200 items                 [<= 100 ms]
- telemetry validate, lines per second               [>= 50,000 lines/s]
- write_bundle of a 3-agent run (atomic, fsync'd)    (part of `speckit run` overhead)
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speckit.agents.result import AgentResult, Usage
from speckit.consensus.synthesis import synthesize
from speckit.pipeline.bundle import write_bundle
from speckit.telemetry.validate import validate_jsonl

AGENTS5 = ["gemini", "claude", "gpt_pro", "gpt_codex", "local"]
_RNG = random.Random(3)
WORDS = sorted(
    {
        "".join(_RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_RNG.randint(3, 9)))
        for _ in range(3000)
    }
)


def _agent(name: str, items: list[str]) -> AgentResult:
    return AgentResult(
        agent=name,
        driver="scripted",
        status="ok",
        latency_ms=1000,
        parsed={"final_plan": {"work_breakdown": [{"step": s} for s in items]}},
        usage=Usage(input_tokens=1200, output_tokens=300),
        cost_usd=0.002,
        cost_source="priced",
    )


def _variant(rng: random.Random, text: str) -> str:
    """How agents reword a shared item: numbering, case, punctuation, a plural, or a new word."""
    words = text.split()
    roll = rng.random()
    if roll < 0.15:
        return f"{rng.randint(1, 9)}. {text.capitalize()}."
    if roll < 0.25:
        index = rng.randrange(len(words))
        words[index] += "s"
    elif roll < 0.30:
        words.insert(rng.randrange(len(words)), "the")
    elif roll < 0.35:  # a real change of content: must not match
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def _items(rng: random.Random, shared: bool) -> list[list[str]]:
    def fresh() -> list[str]:
        return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(200)]

    base = fresh()
    return [[_variant(rng, t) for t in (base if shared else fresh())] for _ in AGENTS5]


def bench_synthesis() -> None:
    rng = random.Random(7)
    for label, shared in (
        ("mostly shared items", True),
        ("all items different (worst case)", False),
    ):
        results = [_agent(a, i) for a, i in zip(AGENTS5, _items(rng, shared), strict=True)]
        times = []
        for _ in range(7):
            start = time.process_time()
            synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS5, results)
            times.append((time.process_time() - start) * 1000)
        print(
            f"synthesis 5 agents x 200 items, {label}: median {statistics.median(times):.1f} ms, "
            f"max {max(times):.1f} ms  (agreements {len(synthesis.agreements)}, "
            f"unique {len(synthesis.unique)})  [target <= 100 ms]"
        )


def _telemetry_file(folder: Path, lines: int) -> Path:
    results = [_agent(a, ["step one", "step two"]) for a in AGENTS5[:3]]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS5[:3], results)
    paths = write_bundle(
        folder / "evidence",
        "SPEC-KIT-001",
        "plan",
        "2026-01-01T00:00:00Z",
        "s",
        "v1",
        results,
        synthesis,
        None,
        True,
    )
    assert paths.telemetry is not None
    line = paths.telemetry.read_bytes()
    big = folder / "spec-plan_2026-01-01T00:00:01Z_telemetry.jsonl"
    big.write_bytes(line * lines)
    print(f"telemetry line size: {len(line)} bytes (3 agents)")
    return big


def bench_validate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lines = 100_000
        path = _telemetry_file(Path(tmp), lines)
        times = []
        for _ in range(3):
            start = time.process_time()
            count, problems = validate_jsonl(path)
            times.append(time.process_time() - start)
        assert count == lines and not problems, problems[:3]
        best = min(times)
        print(
            f"telemetry validate (in process, orjson when installed): {lines / best:,.0f} lines/s "
            f"({lines:,} lines in {best:.2f} s)  [target >= 50,000 lines/s]"
        )
        stdlib = (
            "import sys, time; sys.modules['orjson'] = None\n"
            "from pathlib import Path\n"
            "from speckit.telemetry.validate import validate_jsonl\n"
            "rates = []\n"
            "for _ in range(3):\n"
            "    start = time.process_time(); count, _p = validate_jsonl(Path(sys.argv[1]))\n"
            "    rates.append(count / (time.process_time() - start))\n"
            "print(max(rates))"
        )
        out = subprocess.run(
            [sys.executable, "-c", stdlib, str(path)], capture_output=True, text=True, check=True
        ).stdout
        print(f"telemetry validate (in process, stdlib json, no orjson): {float(out):,.0f} lines/s")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "speckit", "telemetry", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(
            f"speckit telemetry validate (CLI, incl. start-up): {lines / cpu:,.0f} lines/s of CPU, "
            f"{lines / elapsed:,.0f} lines/s wall "
            f"in {elapsed:.2f} s, exit {done.returncode}"
        )


def bench_write_bundle() -> None:
    results = [_agent(a, [f"step {i}" for i in range(20)]) for a in AGENTS5[:3]]
    synthesis = synthesize("plan", "SPEC-KIT-001", AGENTS5[:3], results)
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for second in range(20):
            start = time.perf_counter()
            write_bundle(
                Path(tmp) / "evidence",
                "SPEC-KIT-001",
                "plan",
                f"2026-01-01T00:00:{second:02d}Z",
                f"s{second}",
                "v1",
                results,
                synthesis,
                None,
                True,
            )
            times.append((time.perf_counter() - start) * 1000)
    print(
        f"write_bundle, 3 agents (7 files fsync'd + 1 JSONL line): median "
        f"{statistics.median(times):.1f} ms, max {max(times):.1f} ms"
    )


if __name__ == "__main__":
    print(f"CPU times (process_time) unless marked wall; load average {os.getloadavg()[0]:.1f}")
    bench_synthesis()
    bench_validate()
    bench_write_bundle()
