"""Reading test counts from what runners print: pytest and unittest really run here on
generated projects (default, -q, -v, colour), go test and jest/vitest from their printed
formats (neither is installed here). Unknown output gives None, never a guessed number;
the last summary wins when there are several.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from speckit.implement.testrun import Counts, parse_counts
from tests.implement.test_testrun import (
    PYTEST,
    RED_PYTEST,
    RED_UNITTEST,
    UNITTEST,
    clean_env,
    project,
    run,
)


def output_of(argv: list[str], cwd: Path) -> str:
    """Everything the command printed, stdout and stderr, as a user sees it in a terminal."""
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout


def numbers(counts: Counts) -> tuple[int | None, int | None, int | None, int | None]:
    return counts.passed, counts.failed, counts.errors, counts.skipped


@pytest.mark.parametrize(
    "options", [[], ["-v"], ["--color=yes"], ["-rA"]], ids=["-q", "-q -v", "colour", "-rA"]
)
def test_pytest_counts_and_names_whatever_the_options(tmp_path: Path, options: list[str]) -> None:
    root = project(tmp_path / "p", {"test_red.py": RED_PYTEST})
    counts = parse_counts(output_of([*PYTEST, *options], root))
    assert numbers(counts) == (3, 1, 1, 1)
    # in the order printed: failures then errors, or errors first with -rA
    assert sorted(counts.failing) == ["test_red.py::test_needs_fixture", "test_red.py::test_wrong"]
    assert counts.runner == "pytest"


def test_pytest_default_verbosity_with_its_banner_lines(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_red.py": RED_PYTEST})
    output = output_of([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], root)
    assert "= 1 failed, 3 passed, 1 skipped, 1 error in" in output  # the banner form
    assert numbers(parse_counts(output)) == (3, 1, 1, 1)


def test_pytest_xfail_xpass_warnings_and_deselected_are_not_passes(tmp_path: Path) -> None:
    tests = """
    import warnings, pytest

    def test_ok():
        warnings.warn("careful")

    @pytest.mark.xfail
    def test_known_bug():
        assert False

    @pytest.mark.xfail
    def test_fixed_bug():
        pass

    def test_not_selected():
        pass
    """
    root = project(tmp_path / "p", {"test_marks.py": tests})
    output = output_of([*PYTEST, "-k", "not not_selected"], root)
    assert "1 xfailed" in output and "1 deselected" in output and "warning" in output
    counts = parse_counts(output)
    assert numbers(counts) == (1, 0, 0, 0)
    assert counts.failing == []


def test_pytest_that_ran_nothing_counts_zero(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"helpers.py": "X = 1\n"})
    output = output_of(PYTEST, root)
    assert "no tests ran" in output
    assert numbers(parse_counts(output)) == (0, 0, 0, 0)


def test_a_collection_error_is_an_error_named_by_its_file(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_broken.py": "import not_a_module_anywhere\n"})
    counts = parse_counts(output_of(PYTEST, root))
    assert numbers(counts) == (0, 0, 1, 0)
    assert counts.failing == ["test_broken.py"]


def test_unittest_red_counts_and_names(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_maths.py": RED_UNITTEST})
    for verbose in ([], ["-v"]):
        counts = parse_counts(output_of([*UNITTEST, *verbose, "test_maths"], root))
        assert numbers(counts) == (2, 1, 1, 1)
        assert counts.failing == ["test_maths.Maths.test_div", "test_maths.Maths.test_mul"]
        assert counts.runner == "unittest"


def test_unittest_green_and_empty(tmp_path: Path) -> None:
    green = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"
    root = project(tmp_path / "p", {"test_green.py": green, "test_none.py": "X = 1\n"})
    assert numbers(parse_counts(output_of([*UNITTEST, "test_green"], root))) == (1, 0, 0, 0)
    assert numbers(parse_counts(output_of([*UNITTEST, "test_none"], root))) == (0, 0, 0, 0)


def test_unittest_subtests_leave_passed_unknown_rather_than_wrong(tmp_path: Path) -> None:
    """unittest counts each failing subtest in "failures" but the test once in "Ran N":
    subtracting would give a wrong number of passes."""
    tests = """
    import unittest

    class T(unittest.TestCase):
        def test_each(self):
            for n in range(3):
                with self.subTest(n=n):
                    self.assertLess(n, 1)

        def test_fine(self):
            pass
    """
    root = project(tmp_path / "p", {"test_sub.py": tests})
    output = output_of([*UNITTEST, "test_sub"], root)
    assert "FAILED (failures=2)" in output
    counts = parse_counts(output)
    assert (counts.passed, counts.failed) == (None, 2)
    assert counts.failing == ["test_sub.T.test_each"]


def test_the_last_summary_wins_and_only_its_failures_are_named(tmp_path: Path) -> None:
    """A runner run twice (a retry, a second tox env): the second run is the result."""
    root = project(
        tmp_path / "p", {"test_red.py": RED_PYTEST, "test_ok.py": "def test_a(): pass\n"}
    )
    code = (
        "import subprocess, sys\n"
        "subprocess.call(sys.argv[1:] + ['test_red.py'])\n"
        "sys.exit(subprocess.call(sys.argv[1:] + ['test_ok.py']))\n"
    )
    result = run([sys.executable, "-c", code, *PYTEST], root)
    assert "1 failed" in result.log_path.read_text()  # the first run was red
    assert result.green
    assert (result.passed, result.failed, result.errors, result.skipped) == (1, 0, 0, 0)
    assert result.failing == []


def test_unittest_after_pytest_gives_unittests_counts(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"test_red.py": RED_PYTEST, "test_maths.py": RED_UNITTEST})
    code = (
        "import subprocess, sys\n"
        "subprocess.call(sys.argv[1:] + ['test_red.py'])\n"
        "sys.exit(subprocess.call([sys.executable, '-m', 'unittest', 'test_maths']))\n"
    )
    result = run([sys.executable, "-c", code, *PYTEST], root)
    assert (result.passed, result.failed, result.errors, result.skipped) == (2, 1, 1, 1)
    assert result.runner == "unittest"
    assert "test_red.py::test_wrong" not in result.failing


@pytest.mark.parametrize(
    "output",
    [
        "",
        "Building...\nmake: *** [check] Error 1\n",
        "3 apples in 2s\n",
        "collected 4 items\n....\n",  # pytest cut short before its summary
        "Ran 4 tests in 0.001s\n\nsomething else entirely\n",
        "ok  to proceed\nFAIL if the moon is full\n",
    ],
    ids=["empty", "make", "apples", "no summary", "ran only", "english"],
)
def test_output_we_do_not_recognise_has_no_counts(output: str) -> None:
    counts = parse_counts(output)
    assert numbers(counts) == (None, None, None, None)
    assert counts.runner is None


GO_VERBOSE = """\
=== RUN   TestAdd
--- PASS: TestAdd (0.00s)
=== RUN   TestDiv
    div_test.go:12: got 2, want 3
--- FAIL: TestDiv (0.00s)
=== RUN   TestTable
=== RUN   TestTable/zero
    --- FAIL: TestTable/zero (0.00s)
--- FAIL: TestTable (0.00s)
=== RUN   TestLater
    later_test.go:5: not today
--- SKIP: TestLater (0.00s)
FAIL
FAIL\texample.com/calc\t0.003s
ok  \texample.com/calc/util\t0.002s
FAIL
"""

GO_QUIET = """\
--- FAIL: TestDiv (0.00s)
    div_test.go:12: got 2, want 3
FAIL
FAIL\texample.com/calc\t0.003s
?   \texample.com/calc/cmd\t[no test files]
FAIL
"""

GO_BUILD = """\
# example.com/calc [example.com/calc.test]
./calc_test.go:9:2: undefined: Div
FAIL\texample.com/calc [build failed]
FAIL
"""


def test_go_test_verbose_counts_top_level_tests() -> None:
    counts = parse_counts(GO_VERBOSE)
    assert numbers(counts) == (1, 2, 0, 1)
    assert counts.failing == ["TestDiv", "TestTable/zero", "TestTable"]
    assert counts.runner == "go"


def test_go_test_without_v_knows_only_its_failures() -> None:
    counts = parse_counts(GO_QUIET)
    assert numbers(counts) == (None, 1, 0, None)
    assert counts.failing == ["TestDiv"]
    assert numbers(parse_counts(GO_BUILD)) == (None, 0, 1, None)


def test_jest_and_vitest_totals() -> None:
    jest = (
        "FAIL src/sum.test.js\n  ● sum › adds\n\n"
        "Test Suites: 1 failed, 1 passed, 2 total\n"
        "Tests:       1 failed, 1 skipped, 3 passed, 5 total\n"
        "Snapshots:   0 total\nTime:        0.5 s\n"
    )
    assert numbers(parse_counts(jest)) == (3, 1, None, 1)
    assert parse_counts(jest).runner == "jest"
    vitest = (
        " Test Files  1 failed | 1 passed (2)\n"
        "      Tests  1 failed | 3 passed (4)\n"
        "   Start at  12:00:00\n   Duration  310ms\n"
    )
    assert numbers(parse_counts(vitest)) == (3, 1, None, 0)
    assert parse_counts(vitest).runner == "vitest"


def test_counts_survive_colour_codes_and_carriage_returns() -> None:
    line = "\x1b[31m\x1b[1m1 failed\x1b[0m, \x1b[32m2 passed\x1b[0m\x1b[31m in 0.05s\x1b[0m\r\n"
    counts = parse_counts("FAILED t.py::test_x - assert 0\r\n" + line)
    assert numbers(counts) == (2, 1, 0, 0)
    assert counts.failing == ["t.py::test_x"]
