"""What moving a SPEC's tracker row adds to a stage: `move_row` on SPEC.md of 1, 200 and
5,000 rows, in a git repository (the Branch cell asks git), fsync included.

Target: ≤ 20 ms median for a 200-row SPEC.md.
Run:  python benchmarks/bench_tracker.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speckit.pipeline.tracking import Move, move_row
from speckit.scaffold import init_workspace
from speckit.specs.documents import create_spec
from speckit.workspace import Workspace

TARGET_MS = 20.0


def median_ms(workspace: Workspace, spec_id: str, runs: int = 31) -> float:
    times = []
    for n in range(runs):
        move = Move("plan", "In Progress" if n % 2 else "In Review")  # a real change each time
        start = time.perf_counter()
        move_row(workspace, spec_id, move)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "ws"
        init_workspace(root, which=lambda _n: None, local=False)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        workspace = Workspace(root)
        spec_id, _line = create_spec(workspace, "Bench the tracker")
        tracker = workspace.tracker_path
        base = tracker.read_text()
        worst = 0.0
        for rows in (1, 200, 5000):
            extra = "".join(
                f"| {n + 10} | T{n} | Task {n} | Backlog |  |  |  |  |  |  |  |\n"
                for n in range(rows - 1)
            )
            tracker.write_text(base + extra)
            elapsed = median_ms(workspace, spec_id)
            if rows == 200:
                worst = elapsed
            print(f"move_row, {rows:5,}-row SPEC.md  {elapsed:7.1f} ms median")
    print(f"target: <= {TARGET_MS:.0f} ms for 200 rows: {'ok' if worst <= TARGET_MS else 'MISSED'}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
