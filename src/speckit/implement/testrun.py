"""Run a project's test command — time-boxed, killable, in parallel — and read its counts.

Why here and not in the pipeline: implement runs `[implement] test_command` in every
candidate's worktree and on the base, validate runs it on the applied tree; all three
want the same guarantees. The command never goes through a shell; it runs in its own
process group (`agents.process.run_process`, so the lifeline watchdog and
`kill_all_groups()` cover it like an agent), stdin is /dev/null, and at `timeout` or on
cancel the whole group (the runner and anything it spawned) is killed.

The log holds stdout and stderr interleaved as printed (one pipe). It is written as the
run goes, so a killed run leaves its log too. A log over `LOG_CAP` bytes is cut once the
run ends to its first `LOG_HEAD` and last `LOG_TAIL` bytes with a line saying how much was
cut: evidence stays small and the end, where runners print their summary, is kept. In
memory only the first `HEAD_KEPT` bytes are held while running; the counts and the tail
are read from that head plus the log's last `TAIL_READ` bytes.

Counts come from what the runner printed (pytest, unittest, go test, jest/vitest), the
LAST summary when there are several; output we do not recognise gives None, never a
guessed number.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from speckit.agents.process import run_process
from speckit.errors import SpeckitError

__all__ = [
    "Counts",
    "TestCommandNotFound",
    "TestJob",
    "TestRun",
    "check_test_command",
    "parse_counts",
    "run_tests",
    "run_tests_parallel",
    "run_tests_sync",
]

TAIL_LINES = 60  # lines of output kept in `TestRun.tail`
HEAD_KEPT = 1024 * 1024  # bytes of output held in memory while the command runs
TAIL_READ = 1024 * 1024  # bytes read back from the end of the log for counts and tail
LOG_CAP = 8 * 1024 * 1024  # a log larger than this is cut once the run ends ...
LOG_HEAD = 1024 * 1024  # ... to its first LOG_HEAD bytes
LOG_TAIL = 4 * 1024 * 1024  # ... and its last LOG_TAIL bytes
EXIT_NOT_FOUND = 127  # the shell's codes, for a program that vanished between check and run
EXIT_NOT_EXECUTABLE = 126
SETTING = "[implement] test_command"

Progress = Callable[[int, "TestRun | None"], None]
"""Called with (job index, None) when a job starts and (job index, its run) when it ends."""


@dataclass
class Counts:
    """What a test runner said about its tests; None where it said nothing we recognise."""

    passed: int | None = None
    failed: int | None = None
    errors: int | None = None
    skipped: int | None = None
    failing: list[str] = field(default_factory=list)
    runner: str | None = None  # "pytest", "unittest", "go", "jest", "vitest" or None


@dataclass
class TestRun:
    """One run of the test command: its outcome, counts and where its full output is."""

    __test__ = False  # not a pytest test class, whatever its name

    argv: list[str]
    cwd: Path
    log_path: Path  # stdout and stderr interleaved as printed (cut when huge, see the module)
    exit_code: int | None  # None when killed (timeout / cancel); negative: died of a signal
    duration_s: float
    timed_out: bool
    passed: int | None
    failed: int | None
    errors: int | None
    skipped: int | None
    failing: list[str]  # names of the failing tests, when the runner printed them
    tail: str  # the last ~60 lines of output (for the retry prompt and the reviewer)
    timeout_s: float | None = None
    output_bytes: int = 0  # everything the command printed, even if the log was cut
    runner: str | None = None

    @property
    def green(self) -> bool:
        """The tests pass: exit 0 within the time box (counts do not overrule the exit code)."""
        return self.exit_code == 0 and not self.timed_out

    @property
    def counted(self) -> bool:
        """The runner printed counts we recognised."""
        return any(n is not None for n in (self.passed, self.failed, self.errors, self.skipped))

    def summary(self) -> str:
        """One line: "4 passed, 1 failed in 2.3 s", "exit 2 in 0.4 s (no counts printed)",
        "timed out after 600 s"."""
        if self.timed_out:
            limit = self.timeout_s if self.timeout_s is not None else self.duration_s
            return f"timed out after {_seconds(limit)} s"
        took = f"in {self.duration_s:.1f} s"
        if not self.counted:
            return f"{_exit_text(self.exit_code)} {took} (no counts printed)"
        parts = [
            f"{n} {word}"
            for n, word in (
                (self.passed, "passed"),
                (self.failed, "failed"),
                (self.errors, "error" if self.errors == 1 else "errors"),
                (self.skipped, "skipped"),
            )
            if n
        ]
        text = f"{', '.join(parts) or 'no tests ran'} {took}"
        if self.exit_code != 0 and not (self.failed or self.errors):
            text += f" ({_exit_text(self.exit_code)})"  # e.g. a coverage threshold, no tests
        return text


@dataclass(frozen=True)
class TestJob:
    """One test run to make: where, with what, how long at most, and where its log goes."""

    __test__ = False

    argv: Sequence[str]
    cwd: Path
    log_path: Path
    timeout: float
    env: Mapping[str, str] | None = None  # the whole environment; None: speckit's own


class TestCommandNotFound(SpeckitError):
    """`[implement] test_command` names a program that cannot be started (exit 1)."""

    __test__ = False


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _exit_text(code: int | None) -> str:
    if code is None:
        return "killed"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _shown(argv: Sequence[str]) -> str:
    """The setting as the user would write it in speckit.toml, on one line."""
    text = json.dumps(list(argv), ensure_ascii=False)
    return text if len(text) <= 200 else text[:199] + "…"


def check_test_command(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    """Fail before any agent runs if the test command cannot be started here.

    A bare name is looked up on `env`'s PATH (as the spawn will); a name with a slash is
    relative to `cwd`. Raises `TestCommandNotFound`, one line naming the setting.
    """
    if not argv or not argv[0].strip():
        raise TestCommandNotFound(
            f"{SETTING} is empty; set it to the argv that runs the tests, "
            'e.g. test_command = ["python", "-m", "pytest", "-q"]'
        )
    program = argv[0]
    shown = _shown(argv)
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program) if os.path.isabs(program) else cwd / program
        if not path.is_file():
            raise TestCommandNotFound(
                f"{SETTING}: {program!r} not found in {cwd} (test_command = {shown}); "
                "give a path that exists in the repository, or a program on PATH"
            )
        if not os.access(path, os.X_OK):
            raise TestCommandNotFound(
                f"{SETTING}: {program!r} is not executable (test_command = {shown}); "
                f'chmod +x it, or run it through its interpreter, e.g. ["sh", "{program}"]'
            )
        return
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise TestCommandNotFound(
            f"{SETTING}: {program!r} not found on PATH (test_command = {shown}); install it "
            'or give the program\'s full path, e.g. ["python", "-m", "pytest", "-q"]'
        )


# --- reading counts -------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# pytest: "==== 3 passed, 1 failed in 0.12s ====", "1 failed in 65.1s (0:01:05)", -q without "="
_PYTEST = re.compile(
    r"^=*\s*(?P<parts>no tests ran|\d+ [a-z]+(?: [a-z]+)?(?:, \d+ [a-z]+(?: [a-z]+)?)*)"
    r"(?: in \d+(?:\.\d+)?s(?: \([\d:]+\))?)\s*=*$"
)
_PYTEST_PART = re.compile(r"(\d+) ([a-z]+(?: [a-z]+)?)")
_PYTEST_WORDS = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "errors": "errors",
    "skipped": "skipped",
}
# not counted: pytest 9's -q adds "1 subtests passed", its failed subtests are in "failed" already
_PYTEST_OTHER = {"xfailed", "xpassed", "warning", "warnings", "deselected", "rerun"}
# "FAILED tests/x.py::test_y - AssertionError", "ERROR tests/x.py::test_z", "ERROR tests/x.py",
# pytest 9's "SUBFAILED(i=1) tests/x.py::T::test_sub - ..."
_PYTEST_NAME = re.compile(
    r"^(?:FAILED|ERROR|SUBFAILED(?:\[[^\]]*\])?(?:\([^)]*\))?) (?!\()"
    r"([^\s\[]+(?:\[[^\]]*\])?)(?: - .*)?$"
)
# unittest
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in \d+(?:\.\d+)?s$")
_UNITTEST_END = re.compile(r"^(OK|FAILED|NO TESTS RAN)(?: \((?P<parts>[a-z =\d,]*)\))?$")
_UNITTEST_NAME = re.compile(r"^(?:FAIL|ERROR): (\w+) \(([\w.]+)\)")
# go test
_GO_RESULT = re.compile(r"^(?P<indent>\s*)--- (?P<what>PASS|FAIL|SKIP): (?P<name>\S+)")
_GO_PACKAGE = re.compile(r"^(?:ok|FAIL|\?) *\t\S+")  # "ok  \tpkg\t0.1s", "FAIL\tpkg"
_GO_RUN = re.compile(r"^=== RUN\s")
# jest: "Tests:       1 failed, 3 passed, 4 total"; vitest: "Tests  1 failed | 3 passed (4)"
_JEST = re.compile(r"^\s*Tests:\s+(?P<parts>\d+ [a-z]+(?:, \d+ [a-z]+)*), \d+ total\s*$")
_VITEST = re.compile(r"^\s*Tests\s+(?P<parts>\d+ [a-z]+(?: \| \d+ [a-z]+)*) \(\d+\)\s*$")
_JS_WORDS = {"passed": "passed", "failed": "failed", "skipped": "skipped"}
_JS_OTHER = {"todo", "pending"}


@dataclass
class _Summary:
    """A summary found at `start`..`end` (line indexes), with the counts it gives."""

    start: int
    end: int
    counts: Counts


def _pytest_summary(line: str) -> Counts | None:
    match = _PYTEST.match(line)
    if match is None:
        return None
    parts = match["parts"]
    counts = Counts(0, 0, 0, 0, runner="pytest")
    if parts == "no tests ran":
        return counts
    known = False
    for number, word in _PYTEST_PART.findall(parts):
        if word in _PYTEST_WORDS:
            attr = _PYTEST_WORDS[word]
            setattr(counts, attr, getattr(counts, attr) + int(number))
            known = True
        elif word not in _PYTEST_OTHER and not word.startswith("subtests "):
            return None  # "3 apples in 2s" is not a pytest summary
    has_other = any(word in _PYTEST_OTHER for _n, word in _PYTEST_PART.findall(parts))
    return counts if known or has_other else None


def _unittest_summary(lines: list[str], index: int) -> _Summary | None:
    ran = _UNITTEST_RAN.match(lines[index])
    if ran is None:
        return None
    for end in range(index + 1, min(index + 4, len(lines))):
        status = _UNITTEST_END.match(lines[end])
        if status is None:
            if lines[end].strip():
                return None
            continue
        details: dict[str, int] = {}
        for part in (status["parts"] or "").split(","):
            key, _eq, value = part.partition("=")
            if value.strip().isdigit():
                details[key.strip()] = int(value)
        total = int(ran[1])
        failed, errors = details.get("failures", 0), details.get("errors", 0)
        skipped = details.get("skipped", 0)
        others = details.get("expected failures", 0) + details.get("unexpected successes", 0)
        passed: int | None = total - failed - errors - skipped - others
        if passed is not None and passed < 0:  # subtests count failures beyond tests run
            passed = None
        counts = Counts(passed, failed, errors, skipped, runner="unittest")
        return _Summary(index, end, counts)
    return None


def _js_summary(line: str) -> Counts | None:
    for pattern, runner, separator in ((_JEST, "jest", ", "), (_VITEST, "vitest", " | ")):
        match = pattern.match(line)
        if match is None:
            continue
        counts = Counts(0, 0, None, 0, runner=runner)
        for part in match["parts"].split(separator):
            number, _space, word = part.partition(" ")
            if word in _JS_WORDS:
                setattr(counts, _JS_WORDS[word], int(number))
            elif word not in _JS_OTHER:
                return None
        return counts
    return None


def _summaries(lines: list[str]) -> list[_Summary]:
    found: list[_Summary] = []
    for index, line in enumerate(lines):
        counts = _pytest_summary(line) or _js_summary(line)
        if counts is not None:
            found.append(_Summary(index, index, counts))
            continue
        unittest = _unittest_summary(lines, index)
        if unittest is not None:
            found.append(unittest)
    return found


def _names(lines: list[str], runner: str | None) -> list[str]:
    names: list[str] = []
    for line in lines:
        if runner in (None, "pytest") and (match := _PYTEST_NAME.match(line)):
            names.append(match[1])
        elif runner in (None, "unittest") and (match := _UNITTEST_NAME.match(line)):
            method, where = match[1], match[2]
            names.append(where if where.endswith("." + method) else f"{where}.{method}")
        elif (
            runner in (None, "go") and (match := _GO_RESULT.match(line)) and match["what"] == "FAIL"
        ):
            names.append(match["name"])
    return list(dict.fromkeys(names))


def _go_counts(lines: list[str]) -> Counts | None:
    """go test prints no totals: count its `--- PASS/FAIL/SKIP` lines (top-level tests only).
    Without -v passes are not printed, so passed and skipped stay unknown then."""
    if not any(_GO_PACKAGE.match(line) for line in lines):
        return None
    verbose = any(_GO_RUN.match(line) for line in lines)
    tally = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for line in lines:
        match = _GO_RESULT.match(line)
        if match is not None and not match["indent"]:
            tally[match["what"]] += 1
    build_failed = sum(1 for line in lines if line.startswith("FAIL") and "[build failed]" in line)
    return Counts(
        passed=tally["PASS"] if verbose else None,
        failed=tally["FAIL"],
        errors=build_failed,
        skipped=tally["SKIP"] if verbose else None,
        runner="go",
    )


def _clean_lines(output: str) -> list[str]:
    return [line.rstrip() for line in _ANSI.sub("", output).splitlines()]


def parse_counts(output: str) -> Counts:
    """The counts of the LAST test summary in `output`, and the names failing in that run.

    Recognises pytest (default and -q), unittest, go test (`-v` for passes) and jest/vitest.
    Failing names are those printed between the previous summary and the last one (a rerun
    that passes does not keep the first run's failures). No summary: every count is None,
    the names are whatever failure lines were printed.
    """
    lines = _clean_lines(output)
    summaries = _summaries(lines)
    if not summaries:
        go = _go_counts(lines)
        if go is not None:
            go.failing = _names(lines, "go")
            return go
        return Counts(failing=_names(lines, None))
    last = summaries[-1]
    begin = summaries[-2].end + 1 if len(summaries) > 1 else 0
    counts = last.counts
    segment = lines[begin : last.end + 1]
    counts.failing = _names(segment, counts.runner)
    if counts.runner == "unittest" and not _unittest_passed_is_exact(segment, counts):
        counts.passed = None
    return counts


def _unittest_passed_is_exact(segment: list[str], counts: Counts) -> bool:
    """unittest prints no "passed": it is derived, which is exact only when every failure
    and error was printed whole (one header each, no subtest: those count once per subtest
    in "failures" but once in "Ran N tests")."""
    headers = [m for line in segment if (m := _UNITTEST_NAME.match(line))]
    if any(m.end() < len(m.string) for m in headers):
        return False  # "FAIL: test_x (m.T.test_x) (i=1)": a subtest
    return len(headers) == (counts.failed or 0) + (counts.errors or 0)


# --- running ----------------------------------------------------------------------------


def _read_tail(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - size))
        return handle.read()


def _cut_log(path: Path, total: int) -> None:
    """Keep a huge log's head and tail with a line saying how much of the middle was cut."""
    if total <= LOG_CAP:
        return
    tail = _read_tail(path, LOG_TAIL)
    cut = total - LOG_HEAD - len(tail)
    note = f"\n[speckit: {cut} bytes of output cut here; the log keeps its head and tail]\n"
    with path.open("r+b") as handle:
        handle.seek(LOG_HEAD)
        handle.write(note.encode())
        handle.write(tail)
        handle.truncate()


def _output_text(head: str, total: int, log_path: Path) -> str:
    """All the output when it fitted in memory, else its head and the log's tail."""
    if total <= HEAD_KEPT:
        return head
    if total <= HEAD_KEPT + TAIL_READ:  # small enough to read whole: no gap to paper over
        return log_path.read_bytes().decode("utf-8", errors="replace")
    tail = _read_tail(log_path, TAIL_READ).decode("utf-8", errors="replace")
    return head + "\n" + tail.partition("\n")[2]  # from a whole line on


def _tail_lines(text: str) -> str:
    return "\n".join(_ANSI.sub("", text).splitlines()[-TAIL_LINES:])


def _not_started(
    argv: list[str], cwd: Path, log_path: Path, timeout: float, exc: OSError
) -> TestRun:
    """A program that vanished between the check and the run (a candidate deleted its
    script, say): a red run with the reason in its log, not an exception that would cost
    the other candidates' runs."""
    code = EXIT_NOT_EXECUTABLE if isinstance(exc, PermissionError) else EXIT_NOT_FOUND
    reason = f"speckit: could not start {argv[0]!r} in {cwd}: {exc.strerror or exc}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(reason + "\n", encoding="utf-8")
    return TestRun(
        argv, cwd, log_path, code, 0.0, False, None, None, None, None, [], reason, timeout
    )


async def run_tests(
    argv: Sequence[str],
    cwd: Path,
    log_path: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> TestRun:
    """Run the test command once in `cwd`, never through a shell, within `timeout` seconds.

    Killed with its whole process group at the timeout (`timed_out`, exit_code None) and
    on cancel (the CancelledError propagates once the group is dead). `env` is the whole
    environment (None: speckit's own). The log is written even when the run is killed.
    """
    command = list(argv)
    if not command:
        raise TestCommandNotFound(f"{SETTING} is empty; nothing to run")
    environment = dict(os.environ if env is None else env)
    started = time.monotonic()
    try:
        outcome = await run_process(
            command,
            stdin_text=None,
            cwd=cwd,
            env=environment,
            timeout=timeout,
            stdout_path=log_path,
            cap=HEAD_KEPT,
            merge_stderr=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        if not cwd.is_dir():
            raise SpeckitError(f"cannot run the tests: {cwd} is not a directory") from None
        return _not_started(command, cwd, log_path, timeout, exc)
    duration = time.monotonic() - started
    text = _output_text(outcome.stdout, outcome.stdout_bytes, log_path)
    _cut_log(log_path, outcome.stdout_bytes)
    counts = parse_counts(text)
    return TestRun(
        argv=command,
        cwd=cwd,
        log_path=log_path,
        exit_code=None if outcome.timed_out else outcome.exit_code,
        duration_s=duration,
        timed_out=outcome.timed_out,
        passed=counts.passed,
        failed=counts.failed,
        errors=counts.errors,
        skipped=counts.skipped,
        failing=counts.failing,
        tail=_tail_lines(text),
        timeout_s=timeout,
        output_bytes=outcome.stdout_bytes,
        runner=counts.runner,
    )


def _limit(parallel: int, jobs: int) -> int:
    wanted = parallel if parallel > 0 else (os.cpu_count() or 1)
    return max(1, min(wanted, jobs))


async def run_tests_parallel(
    jobs: Sequence[TestJob], parallel: int, *, on_progress: Progress | None = None
) -> list[TestRun]:
    """Run every job, at most `parallel` at once (0: the number of cores); results in job
    order. Cancelling kills every running job's group and propagates."""
    if not jobs:
        return []
    gate = asyncio.Semaphore(_limit(parallel, len(jobs)))

    async def one(index: int, job: TestJob) -> TestRun:
        async with gate:
            if on_progress is not None:
                on_progress(index, None)
            run = await run_tests(job.argv, job.cwd, job.log_path, job.timeout, job.env)
            if on_progress is not None:
                on_progress(index, run)
            return run

    tasks = [asyncio.create_task(one(index, job)) for index, job in enumerate(jobs)]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:  # one failed or the whole run was cancelled: stop the others too
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def run_tests_sync(
    jobs: Sequence[TestJob],
    parallel: int,
    cancel: threading.Event | None = None,
    *,
    on_progress: Progress | None = None,
) -> list[TestRun]:
    """`run_tests_parallel` for synchronous callers, stoppable as the agents are.

    Ctrl-C, SIGTERM or SIGHUP kill every running test's process group, then raise
    KeyboardInterrupt; setting `cancel` (from any thread, e.g. the TUI) does the same and
    raises `speckit.errors.Cancelled` (exit 130).
    """
    from speckit.agents.runner import run_cancellable  # the registry and drivers: lazily

    return run_cancellable(
        run_tests_parallel(jobs, parallel, on_progress=on_progress),
        cancel,
        stopped="the test runs",
    )
