"""Three candidates' test runs in parallel vs the slowest one alone (issue 14).

Target: all three with parallel = 3 take <= 1.2 x the slowest suite run alone.
The suites are three generated projects run by real test runners through
`speckit.implement.testrun` (process group, one interleaved log, counts read):

* short:  pytest -q, 5 tests sleeping 0.1 s each, plus light CPU (sum of 200k ints, ~3 ms)
* medium: python -m unittest, 6 tests sleeping 0.13 s each, plus the same CPU
* long:   pytest -q, 8 tests sleeping 0.14 s each, plus the same CPU

So each is 0.5-1.1 s of sleeping plus the runner's own start-up (~0.4 s of CPU for
pytest, ~0.1 s for unittest): the parallel run contends for the cores only then.
pytest runs with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, as a project without plugins would:
this environment has many pytest plugins installed (benchmark, xdist, hypothesis...)
whose import costs ~2.5 s of CPU per start, which would measure them, not the runs.
The core count and the load average are printed: on 2 cores three start-ups share
two CPUs, and other work on the machine shows in the figures.
Run:  python benchmarks/bench_tests_parallel.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speckit.implement.testrun import TestJob, TestRun, run_tests_sync

RUNS = 5
TARGET = 1.2
WORK = "sum(range(200_000))"

PYTEST_SUITE = """
import time

def _test(n):
    def test():
        {work}
        time.sleep({sleep})
    return test

for _n in range({count}):
    globals()[f"test_{{_n}}"] = _test(_n)
"""

UNITTEST_SUITE = """
import time, unittest

class Suite(unittest.TestCase):
    pass

for _n in range({count}):
    def _test(self):
        {work}
        time.sleep({sleep})
    setattr(Suite, f"test_{{_n}}", _test)
"""

SUITES = {  # name: (runner, tests, sleep per test)
    "short": ("pytest", 5, 0.1),
    "medium": ("unittest", 6, 0.13),
    "long": ("pytest", 8, 0.14),
}


def _suite(root: Path, name: str) -> TestJob:
    runner, count, sleep = SUITES[name]
    folder = root / name
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    template = PYTEST_SUITE if runner == "pytest" else UNITTEST_SUITE
    (folder / f"test_{name}.py").write_text(template.format(count=count, sleep=sleep, work=WORK))
    if runner == "pytest":
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    else:
        argv = [sys.executable, "-m", "unittest", f"test_{name}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return TestJob(argv, folder, root / "logs" / f"{name}.log", 60, env)


def _timed(jobs: list[TestJob], parallel: int) -> tuple[float, list[TestRun]]:
    start = time.perf_counter()
    runs = run_tests_sync(jobs, parallel)
    return time.perf_counter() - start, runs


def _overhead(root: Path) -> None:
    """What speckit adds to one run: `python -c pass` through run_tests_sync vs subprocess."""
    argv = [sys.executable, "-c", "pass"]
    job = TestJob(argv, root, root / "logs" / "pass.log", 60)
    plain, ours = [], []
    for _ in range(20):
        start = time.perf_counter()
        subprocess.run(argv, cwd=root, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        plain.append(time.perf_counter() - start)
        ours.append(_timed([job], 1)[0])
    added = (statistics.median(ours) - statistics.median(plain)) * 1000
    ours_ms, plain_ms = statistics.median(ours) * 1000, statistics.median(plain) * 1000
    print(
        f"overhead per run: {added:5.1f} ms  (python -c pass: run_tests_sync median "
        f"{ours_ms:.1f} ms, subprocess.run {plain_ms:.1f} ms)"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        _overhead(root)
        jobs = [_suite(root, name) for name in SUITES]
        _timed(jobs, 3)  # warm the page cache and pytest's imports once
        # Round by round (each suite alone, then all three), so that load from elsewhere on
        # the machine drifts into both figures alike.
        alone_times: dict[str, list[float]] = {name: [] for name in SUITES}
        together = []
        for _ in range(RUNS):
            for name, job in zip(SUITES, jobs, strict=True):
                took, runs = _timed([job], 1)
                assert runs[0].green, runs[0].tail
                alone_times[name].append(took)
            took, runs = _timed(jobs, 3)
            assert all(run.green for run in runs), [run.tail for run in runs]
            together.append(took)
        alone = {name: statistics.median(times) for name, times in alone_times.items()}
        for name, run in zip(SUITES, runs, strict=True):
            print(f"{name:<7} alone    median {alone[name]:5.3f} s   ({run.summary()})")
        wall = statistics.median(together)
        slowest = max(alone.values())
        ratio = wall / slowest
        print(f"all three parallel=3 median {wall:5.3f} s   sum alone {sum(alone.values()):5.3f} s")
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(
            f"ratio parallel / slowest alone = {ratio:4.2f}   (target <= {TARGET}; "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {RUNS} runs each) {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
