"""OpenTelemetry export of 10,000 agent calls to an OTLP/HTTP receiver on loopback.

Evidence: one real scripted `speckit run plan` (three agents and a guardrail policy call:
four agent calls), copied as 2,500 stage runs over 25 SPECs, grouped five at a time into
`auto` runs, each with its raw output files (so call times come from them, as in a real
workspace): 10,000 `invoke_agent` spans, 2,500 stage spans, 500 workflow spans.
Timed: `speckit telemetry export --otlp URL` as a user runs it (start-up, reading the
lines, building the spans, protobuf, HTTP), the receiver decoding every request.
Target: ≤ 5 s.

Run:  python benchmarks/bench_otel.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.telemetry.otel_workspace import otel_workspace
from tests.telemetry.otlp_receiver import otlp_receiver

SPECS, RUNS_PER_SPEC, PER_AUTO = 25, 100, 5
TARGET_S = 5.0
REPEATS = 3


def speckit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return subprocess.run(
        [sys.executable, "-m", "speckit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def build(root: Path) -> tuple[Path, int]:
    """The workspace with 2,500 copied stage runs; returns it and the agent calls in it."""
    scripted = otel_workspace(root)
    done = speckit("run", "plan", scripted.spec_id, cwd=scripted.root)
    assert done.returncode == 0, done.stdout + done.stderr
    [line_path] = scripted.consensus_dir().glob("*_telemetry.jsonl")
    template = json.loads(line_path.read_text().splitlines()[0])
    agents = [a["agent"] for a in template["consensus"]["agents"]]
    calls = 0
    base = time.time() - 30 * 86_400
    for s in range(SPECS):
        spec = f"SPEC-KIT-{900 + s:03d}-bench"
        folder = root / "evidence" / "consensus" / spec
        folder.mkdir(parents=True)
        for r in range(RUNS_PER_SPEC):
            start = base + (s * RUNS_PER_SPEC + r) * 60
            key = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
            record = {**template, "specId": spec, "runId": key, "timestamp": key}
            auto_start = base + (s * RUNS_PER_SPEC + r - r % PER_AUTO) * 60
            record["autoRunId"] = time.strftime(
                "%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(auto_start)
            )
            (folder / f"spec-plan_{key}_telemetry.jsonl").write_text(json.dumps(record) + "\n")
            for n, agent in enumerate(agents):
                raw = folder / f"spec-plan_{key}_{agent}_raw.txt"
                raw.write_text("{}")
                end = start + 1 + n * 0.5
                os.utime(raw, (end, end))
            calls += len(agents) + len(template["guardrail"].get("policy_agents") or [])
    return root, calls


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root, calls = build(Path(tmp) / "ws")
        times, cpu, spans = [], [], 0
        for _ in range(REPEATS):
            with otlp_receiver() as (url, received):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = speckit("telemetry", "export", "--otlp", url, cwd=root)
                times.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                assert done.returncode == 0, done.stderr
                spans = len(received.spans)
                sent_calls = len(received.by_name("invoke_agent "))
        assert sent_calls >= calls, (sent_calls, calls)
        best, median = min(times), statistics.median(times)
        print(
            f"export of {sent_calls} agent calls ({spans} spans, {RUNS_PER_SPEC * SPECS} stage "
            f"runs): best {best:.2f} s, median {median:.2f} s wall (target ≤ {TARGET_S:.0f} s); "
            f"CPU {statistics.median(cpu):.2f} s median"
        )
        return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
