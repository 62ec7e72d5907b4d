"""Running a project's test command: green and red runs, a missing program, a hang killed
with its whole group at the timeout, huge output, and the parallel limit.

Every run is a real subprocess (pytest, unittest or a small `python -c`) in a generated
project under tmp_path; processes are checked gone by pid, the parallel limit by marker
files the jobs write while they run (no timing).
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.agents.process import live_groups
from speckit.errors import ExitCode
from speckit.implement import testrun
from speckit.implement.testrun import (
    TestCommandNotFound,
    TestJob,
    check_test_command,
    run_tests,
    run_tests_sync,
)
from tests.pipeline.sleepers import SLEEPER, all_gone, markers_in, started

GONE_S = 5.0
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
UNITTEST = [sys.executable, "-m", "unittest"]

RED_PYTEST = """
import pytest

def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a".upper() == "A"

def test_three():
    assert [] == []

def test_wrong():
    assert 2 * 2 == 5

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_needs_fixture(broken):
    pass

@pytest.mark.skip(reason="not today")
def test_later():
    pass
"""

RED_UNITTEST = """
import unittest

class Maths(unittest.TestCase):
    def test_add(self):
        self.assertEqual(1 + 1, 2)

    def test_mul(self):
        self.assertEqual(2 * 2, 5)

    def test_div(self):
        1 / 0

    @unittest.skip("not today")
    def test_later(self):
        pass

    def test_sub(self):
        self.assertEqual("ab"[1:], "b")
"""


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the outer pytest's settings, so the inner run is a user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def project(root: Path, files: dict[str, str]) -> Path:
    """A small project: the files given, plus a pytest.ini so pytest roots itself here."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


def run(argv: list[str], cwd: Path, timeout: float = 60, **env: str) -> testrun.TestRun:
    return asyncio.run(
        run_tests(argv, cwd, cwd.parent / "logs" / "tests.log", timeout, clean_env(**env))
    )


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[Path]:
    with markers_in(tmp_path / "markers") as folder:
        yield folder


# --- one run ------------------------------------------------------------------------------


def test_a_green_pytest_run(tmp_path: Path) -> None:
    root = project(
        tmp_path / "p", {"test_ok.py": "def test_a():\n    pass\n\ndef test_b():\n    pass\n"}
    )
    result = run(PYTEST, root)
    assert result.green and result.exit_code == 0 and not result.timed_out
    assert (result.passed, result.failed, result.errors, result.skipped) == (2, 0, 0, 0)
    assert result.failing == []
    assert result.summary().startswith("2 passed in ") and result.summary().endswith(" s")
    assert "2 passed" in result.log_path.read_text()
    assert result.tail.splitlines()[-1].startswith("2 passed in")


def test_a_red_pytest_run_has_its_counts_and_failing_names(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_red.py": RED_PYTEST})
    result = run(PYTEST, root)
    assert not result.green and result.exit_code == 1
    assert (result.passed, result.failed, result.errors, result.skipped) == (3, 1, 1, 1)
    assert result.failing == ["test_red.py::test_wrong", "test_red.py::test_needs_fixture"]
    assert result.summary().startswith("3 passed, 1 failed, 1 error, 1 skipped in ")
    assert "assert 2 * 2 == 5" in result.tail  # the reason, for the retry prompt


def test_a_red_unittest_run_has_its_counts_and_failing_names(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_maths.py": RED_UNITTEST})
    result = run([*UNITTEST, "test_maths"], root)
    assert not result.green and result.exit_code == 1
    assert (result.passed, result.failed, result.errors, result.skipped) == (2, 1, 1, 1)
    assert sorted(result.failing) == ["test_maths.Maths.test_div", "test_maths.Maths.test_mul"]
    assert result.runner == "unittest"
    # unittest writes to stderr: it is in the one log all the same
    assert "FAILED (failures=1, errors=1, skipped=1)" in result.log_path.read_text()


def test_stdout_and_stderr_are_interleaved_in_the_log_as_printed(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "for n in range(3):\n"
        "    print('out', n, flush=True)\n"
        "    print('err', n, file=sys.stderr, flush=True)\n"
    )
    result = run([sys.executable, "-c", code], tmp_path)
    lines = result.log_path.read_text().splitlines()
    assert lines == ["out 0", "err 0", "out 1", "err 1", "out 2", "err 2"]
    assert not result.log_path.with_name(result.log_path.name + ".stderr").exists()


def test_no_counts_printed_gives_none_and_says_so(tmp_path: Path) -> None:
    result = run(
        [sys.executable, "-c", "import sys; print('make: *** [test] Error 2'); sys.exit(2)"],
        tmp_path,
    )
    assert (result.passed, result.failed, result.errors, result.skipped) == (None,) * 4
    assert not result.green
    assert result.summary().startswith("exit 2 in ")
    assert result.summary().endswith(" s (no counts printed)")


def test_passing_counts_do_not_hide_a_failing_exit(tmp_path: Path) -> None:
    """A coverage threshold or a linter step after the tests: the exit code decides."""
    root = project(tmp_path / "p", {"test_ok.py": "def test_a():\n    pass\n"})
    code = "import subprocess, sys\nsubprocess.call(sys.argv[1:])\nsys.exit(3)\n"
    result = run([sys.executable, "-c", code, *PYTEST], root)
    assert result.passed == 1 and not result.green
    assert result.summary().endswith("(exit 3)")


# --- a command that is not there -------------------------------------------------------------


def test_a_program_not_on_path_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(TestCommandNotFound) as caught:
        check_test_command(["pytest-nowhere", "-q"], tmp_path, {"PATH": str(tmp_path)})
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith("[implement] test_command: 'pytest-nowhere' not found on PATH")
    assert '(test_command = ["pytest-nowhere", "-q"])' in message
    assert caught.value.exit_code == ExitCode.ERROR


def test_a_script_path_is_looked_up_in_the_repository(tmp_path: Path) -> None:
    with pytest.raises(TestCommandNotFound, match=r"'\./run-tests' not found in "):
        check_test_command(["./run-tests"], tmp_path, clean_env())
    script = tmp_path / "run-tests"
    script.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(TestCommandNotFound, match="is not executable"):
        check_test_command(["./run-tests"], tmp_path, clean_env())
    script.chmod(0o755)
    check_test_command(["./run-tests"], tmp_path, clean_env())  # found: no error
    check_test_command([sys.executable, "-m", "pytest"], tmp_path, clean_env())


def test_an_empty_command_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TestCommandNotFound, match=r"^\[implement\] test_command is empty"):
        check_test_command([], tmp_path, clean_env())


def test_a_program_gone_by_the_time_it_runs_is_a_red_run_not_a_crash(tmp_path: Path) -> None:
    """A candidate that deleted the test script fails its own run, not everyone's."""
    result = run(["./run-tests"], tmp_path)
    assert result.exit_code == testrun.EXIT_NOT_FOUND and not result.green
    assert "could not start './run-tests'" in result.log_path.read_text()
    assert "could not start" in result.tail


# --- time box and kill ---------------------------------------------------------------------


def test_a_hanging_command_and_its_child_are_killed_at_the_timeout(
    tmp_path: Path, markers: Path
) -> None:
    code = "print('collecting', flush=True)\n" + SLEEPER
    result = run([sys.executable, "-c", code, str(markers)], tmp_path, timeout=1.5)
    pids = started(markers)
    assert len(pids) == 2, "the command and its sleeping child both ran"
    assert result.timed_out and result.exit_code is None and not result.green
    assert result.summary() == "timed out after 1.5 s"
    assert all_gone(pids, GONE_S), "the whole process group dies at the timeout"
    assert "collecting" in result.log_path.read_text()  # the log is kept when killed
    assert not live_groups()


def test_cancelling_a_run_kills_its_group_and_propagates(tmp_path: Path, markers: Path) -> None:
    log = tmp_path / "logs" / "tests.log"

    async def cancel_once_started() -> None:
        task = asyncio.create_task(
            run_tests([sys.executable, "-c", SLEEPER, str(markers)], tmp_path, log, 600)
        )
        while len(started(markers)) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancel_once_started())
    assert all_gone(started(markers), GONE_S)
    assert log.exists()


def test_huge_output_is_capped_but_the_counts_and_tail_survive(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_ok.py": "def test_a():\n    pass\n"})
    code = (
        "import subprocess, sys\n"
        "line = 'x' * 99 + '\\n'\n"
        "sys.stdout.write(line * (100 * 1024))\n"  # 10 MB of noise first
        "sys.stdout.flush()\n"
        "sys.exit(subprocess.call(sys.argv[1:]))\n"
    )
    result = run([sys.executable, "-c", code, *PYTEST], root)
    assert result.green and result.passed == 1
    assert result.output_bytes > testrun.LOG_CAP
    log = result.log_path.read_bytes()
    assert len(log) <= testrun.LOG_HEAD + testrun.LOG_TAIL + 200
    assert b"bytes of output cut here" in log
    assert log.rstrip().endswith(result.tail.splitlines()[-1].encode())
    assert result.tail.splitlines()[-1].startswith("1 passed in")


# --- in parallel -----------------------------------------------------------------------------

# Each job marks itself running, waits until `want` jobs are (or 10 s), keeps watching for
# 0.3 s more, unmarks itself and prints the most jobs it saw running at once.
OVERLAP = """
import os, sys, time
folder, me, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
mine = os.path.join(folder, "running-" + me)
open(mine, "w").close()
def running():
    return sum(1 for name in os.listdir(folder) if name.startswith("running-"))
seen, deadline = 0, time.monotonic() + 10
while seen < want and time.monotonic() < deadline:
    seen = max(seen, running())
    time.sleep(0.01)
end = time.monotonic() + 0.3
while time.monotonic() < end:
    seen = max(seen, running())
    time.sleep(0.01)
os.remove(mine)
print("job", me, "saw", seen)
"""


def overlap_jobs(tmp_path: Path, count: int, parallel: int) -> list[TestJob]:
    """`count` jobs; the first `parallel` (admitted together) wait to see each other."""
    folder = tmp_path / "running"
    folder.mkdir()
    return [
        TestJob(
            [
                sys.executable,
                "-c",
                OVERLAP,
                str(folder),
                str(n),
                str(parallel if n < parallel else 1),
            ],
            tmp_path,
            tmp_path / "logs" / f"job{n}.log",
            60,
        )
        for n in range(count)
    ]


def seen_at_once(runs: list[testrun.TestRun]) -> list[int]:
    return [int(run.log_path.read_text().split()[-1]) for run in runs]


@pytest.mark.parametrize("parallel", [1, 2])
def test_at_most_parallel_runs_at_once_and_results_in_job_order(
    tmp_path: Path, parallel: int
) -> None:
    jobs = overlap_jobs(tmp_path, 4, parallel)
    runs = run_tests_sync(jobs, parallel)
    assert [run.log_path for run in runs] == [job.log_path for job in jobs]
    assert [run.log_path.read_text().split()[1] for run in runs] == ["0", "1", "2", "3"]
    assert all(run.green for run in runs)
    seen = seen_at_once(runs)
    assert max(seen) == parallel, f"at most {parallel} at once, and that many did run: {seen}"


def test_parallel_zero_means_the_number_of_cores(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    jobs = overlap_jobs(tmp_path, cores + 1, cores)
    seen = seen_at_once(run_tests_sync(jobs, 0))
    assert max(seen) == cores


def test_progress_is_reported_per_job(tmp_path: Path) -> None:
    events: list[tuple[int, str]] = []
    jobs = overlap_jobs(tmp_path, 2, 1)
    run_tests_sync(
        jobs, 1, on_progress=lambda n, r: events.append((n, "start" if r is None else r.summary()))
    )
    assert [event[0] for event in events] == [0, 0, 1, 1]
    assert events[0][1] == "start" and events[1][1].startswith("exit 0 in ")


def test_no_jobs_no_runs() -> None:
    assert run_tests_sync([], 0) == []
