"""CLI start-up and tracker lint speed.

Targets (2-core machine): `speckit --version` ≤ 100 ms and `speckit --help`
≤ 200 ms median wall time; lint of a 5,000-row SPEC.md ≤ 1 s.
Run:  python benchmarks/bench_cli.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def speckit_command() -> list[str]:
    script = shutil.which("speckit")
    return [script] if script else [sys.executable, "-m", "speckit"]


def median_wall_ms(args: list[str], runs: int = 15) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def write_big_tracker(folder: Path, rows: int) -> Path:
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "spec.md").write_text("x")
    lines = [
        "# Spec Tracker",
        "",
        "| Order | Task ID | Title | Status | Owners | PRD | Branch | PR | Last Validation"
        " | Evidence | Notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in range(1, rows + 1):
        lines.append(
            f"| {n} | SPEC-KIT-{n:05d}-task | Task {n} | Done | Code | docs/spec.md, docs/spec.md"
            f" | feat/t{n} |  | 2025-10-01 | docs/missing-{n % 50}.json | note {n} |"
        )
    tracker = folder / "SPEC.md"
    tracker.write_text("\n".join(lines) + "\n")
    return tracker


def main() -> None:
    command = speckit_command()
    version = median_wall_ms([*command, "--version"])
    help_ms = median_wall_ms([*command, "--help"])
    print(f"speckit --version   median {version:7.1f} ms   (target <= 100 ms)")
    print(f"speckit --help      median {help_ms:7.1f} ms   (target <= 200 ms)")
    with tempfile.TemporaryDirectory() as temp:
        tracker = write_big_tracker(Path(temp), 5000)
        start = time.perf_counter()
        result = subprocess.run([*command, "lint", str(tracker)], capture_output=True, text=True)
        elapsed = (time.perf_counter() - start) * 1000
        findings = len(result.stdout.splitlines())
    print(f"lint 5,000 rows     {elapsed:7.1f} ms   (target <= 1000 ms; {findings} findings)")


if __name__ == "__main__":
    main()
