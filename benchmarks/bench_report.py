"""`speckit report` on a large workspace: 1,000 SPECs with full evidence (~30,000 files).

Targets (2-core machine): the whole-workspace page ≤ 3 s and ≤ 10 MB; one SPEC's page
≤ 300 ms; `speckit --help` unchanged (≤ 100 ms, pygal and Jinja2 not imported).
The evidence index is warm, as after any `speckit status`.
Run:  python benchmarks/bench_report.py [--specs 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from benchmarks.bench_status import big_workspace, command_and_env, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--specs", type=int, default=1000)
    count = parser.parse_args().specs
    command, env = command_and_env()
    with big_workspace(count) as root:
        timed([*command, "status"], root, env)  # warms the index
        whole = statistics.median(timed([*command, "report"], root, env) for _ in range(3))
        size = (root / "evidence" / "reports" / "index.html").stat().st_size
        spec = f"SPEC-BIG-{max(1, count // 2):05d}-generated-spec"  # one in the middle
        one = statistics.median(timed([*command, "report", spec], root, env) for _ in range(5))
        one_size = (root / "evidence" / "reports" / f"{spec}.html").stat().st_size
        helps = statistics.median(timed([*command, "--help"], root, env) for _ in range(7))
        print(f"report, whole workspace (median) {whole:8.1f} ms  {size / 2**20:5.2f} MB"
              "   (targets <= 3000 ms, <= 10 MB)")  # fmt: skip
        print(f"report, one SPEC (median)        {one:8.1f} ms  {one_size / 2**20:5.2f} MB"
              "   (target <= 300 ms)")  # fmt: skip
        print(f"--help (median)                  {helps:8.1f} ms            (target <= 100 ms)")


if __name__ == "__main__":
    main()
