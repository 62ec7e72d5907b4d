"""Answer cache speed: plain script, prints figures (targets in brackets).

    python benchmarks/bench_cache.py [ENTRIES]

On a cache holding ENTRIES answers (default 10,000; ~5 KB raw output each, the size of a
plan answer), for a stage call with a 30 KB prompt:
- the key alone (sha256 of the inputs)                        (part of every lookup)
- a hit: key, read and verify the entry, write this run's raw
  output (atomic, fsync'd), count it in lookups.jsonl            [<= 5 ms]
- a miss: key, no entry, count it                              [<= 5 ms]
- storing a new answer (atomic, fsync'd)                       (after the agent, off the path)
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from speckit.agents.cache import CacheSlot, _meta_of, cache_key, cache_stats, slot_for
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.answers.schemas import stage_schema
from speckit.config import AgentConfig

ROUNDS = 300


def _request(root: Path, prompt: str, key: str) -> AgentRequest:
    agent = AgentConfig(driver="command", command=["my-agent", "--json"], model="m")
    agent.name = "claude"
    return AgentRequest(
        agent=agent,
        prompt=prompt,
        workdir=root,
        raw_output_path=root / "evidence" / f"spec-plan_{key}_claude_raw.txt",
        stage="plan",
        schema=stage_schema("plan"),
        root=root,
        cache_dir=root / ".speckit" / "cache",
    )


def _answer(rng: random.Random) -> tuple[AgentResult, bytes]:
    steps = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(40)]
    text = json.dumps({"final_plan": {"work_breakdown": steps}}, indent=2)
    result = AgentResult(
        agent="claude",
        driver="command",
        status="ok",
        text=text,
        parsed=json.loads(text),
        usage=Usage(input_tokens=8000, output_tokens=1500),
        cost_usd=0.0465,
        cost_source="priced",
    )
    return result, text.encode()


WORDS = ["limiter", "redis", "token", "bucket", "login", "429", "retry", "header", "test", "load"]


def _fill(root: Path, count: int, rng: random.Random) -> None:
    """`count` entries written in the cache's own format (no fsync: this is only the setup)."""
    result, raw = _answer(rng)
    request = _request(root, "prompt", "fill")
    for index in range(count):
        key = hashlib.sha256(f"entry {index}".encode()).hexdigest()  # any key: only its file
        slot = CacheSlot(root / ".speckit" / "cache", key, root)
        meta = _meta_of(key, request, result, raw)
        header = json.dumps(meta, separators=(",", ":")).encode()
        slot.path.parent.mkdir(parents=True, exist_ok=True)
        slot.path.write_bytes(header + b"\n" + raw)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(7)
    prompt = "Plan the rate limiter.\n" + "context line " * 2500  # ~30 KB
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        _fill(root, count, rng)
        print(f"cache filled with {count} entries in {time.perf_counter() - started:.1f} s")
        origin = _request(root, prompt, "origin")
        result, raw = _answer(rng)
        origin.raw_output_path.parent.mkdir(parents=True, exist_ok=True)
        origin.raw_output_path.write_bytes(raw)
        result.raw_output_path = str(origin.raw_output_path)
        store = []
        for index in range(20):
            request = _request(root, f"{prompt} {index}", "store")
            slot = slot_for(request)
            assert slot is not None
            begun = time.perf_counter()
            slot.store(request, result)
            store.append(time.perf_counter() - begun)
        stored = slot_for(origin)
        assert stored is not None and stored.store(origin, result)

        keys, hits, misses = [], [], []
        for index in range(ROUNDS):
            request = _request(root, prompt, f"run{index}")
            begun = time.perf_counter()
            cache_key(request)
            keys.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            slot = slot_for(request)
            found = slot.lookup(request) if slot else None
            hits.append(time.perf_counter() - begun)
            assert found is not None and found.cost_source == "cached"
            absent = _request(root, f"{prompt} never asked {index}", f"miss{index}")
            begun = time.perf_counter()
            slot = slot_for(absent)
            assert slot is not None and slot.lookup(absent) is None
            misses.append(time.perf_counter() - begun)
        stats = cache_stats(root / ".speckit" / "cache")
        print(f"entries {stats.entries}, {stats.size_bytes / 1e6:.1f} MB on disk")
        print(f"key (30 KB prompt):   {_ms(keys)}")
        print(f"hit  [<= 5 ms]:       {_ms(hits)}")
        print(f"miss [<= 5 ms]:       {_ms(misses)}")
        print(f"store (fsync'd):      {_ms(store)}")
        worst = max(statistics.median(hits), statistics.median(misses))
        print("target met" if worst <= 0.005 else "TARGET NOT MET (median lookup > 5 ms)")
        return 0 if worst <= 0.005 else 1


if __name__ == "__main__":
    sys.exit(main())
