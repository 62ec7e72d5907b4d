"""The winner is chosen in code: tests, then the reviewer, then shared files, then size."""

from __future__ import annotations

from speckit.consensus.models import CandidateSummary, TestsSummary
from speckit.implement.choose import choose_winner, degraded_reasons, file_agreements


def candidate(
    agent: str,
    files: list[str],
    green: bool | None = True,
    lines: int = 10,
    status: str = "ok",
) -> CandidateSummary:
    tests = None
    if green is not None:
        tests = TestsSummary(
            green=green,
            passed=3 if green else 2,
            failed=0 if green else 1,
            failing=[] if green else ["tests/test_calc.py::test_add"],
            summary="3 passed" if green else "2 passed, 1 failed",
        )
    return CandidateSummary(
        agent=agent, status=status, files=files, added=lines, removed=0, tests=tests
    )


def test_a_passing_candidate_beats_the_reviewers_pick_whose_tests_fail() -> None:
    right = candidate("claude", ["calc.py"], green=True)
    wrong = candidate("codex", ["calc.py"], green=False)
    choice = choose_winner([wrong, right], reviewer_pick="codex")
    assert choice.winner is right
    assert "only one" in choice.reasons[-1]


def test_among_passing_candidates_the_reviewers_pick_wins() -> None:
    a = candidate("claude", ["calc.py"], lines=50)
    b = candidate("codex", ["calc.py"], lines=5)
    choice = choose_winner([a, b], reviewer_pick="claude")
    assert choice.winner is a
    assert choice.reasons[-1] == "the reviewer picked claude"


def test_without_a_pick_the_candidate_sharing_most_files_wins_then_the_smallest() -> None:
    a = candidate("a", ["calc.py", "README.md"], lines=40)
    b = candidate("b", ["calc.py", "README.md", "x.py"], lines=60)
    c = candidate("c", ["calc.py"], lines=1)
    choice = choose_winner([a, b, c], reviewer_pick=None)
    # a shares calc+README with b and calc with c (3); b shares 2+1 (3); c shares 1+1 (2)
    assert choice.winner is a  # a and b tie on shared files; a has fewer lines
    assert "fewest changed lines (40)" in choice.reasons[-1]


def test_a_pick_of_a_failing_candidate_is_said_not_to_count() -> None:
    a = candidate("a", ["calc.py"], lines=4)
    b = candidate("b", ["calc.py"], lines=9)
    red = candidate("red", ["calc.py"], green=False)
    choice = choose_winner([a, b, red], reviewer_pick="red")
    assert choice.winner is a
    assert any("'red' does not count" in reason for reason in choice.reasons)


def test_no_passing_candidate_means_no_winner_and_degraded_names_the_failing_tests() -> None:
    red = candidate("codex", ["calc.py"], green=False)
    failed = candidate("claude", [], green=None, status="failed")
    failed.reason = "claude: HTTP 429"
    assert choose_winner([red, failed], None).winner is None
    reasons = degraded_reasons([red, failed])
    assert "claude: failed (claude: HTTP 429)" in reasons
    assert any("tests/test_calc.py::test_add" in r for r in reasons)


def test_untested_candidates_are_usable_when_there_is_no_test_command() -> None:
    a = candidate("a", ["calc.py"], green=None)
    assert choose_winner([a], None).winner is a
    assert degraded_reasons([a]) == []


def test_files_changed_by_quorum_candidates_are_agreements() -> None:
    a = candidate("a", ["calc.py", "tests/test_calc.py", "a.py"])
    b = candidate("b", ["calc.py", "tests/test_calc.py"])
    c = candidate("c", ["calc.py", "c.py"])
    agreements, partial, unique = file_agreements([a, b, c], quorum=3)
    assert [(x.text, x.agents) for x in agreements] == [("calc.py", ["a", "b", "c"])]
    assert [(x.text, x.agents) for x in partial] == [("tests/test_calc.py", ["a", "b"])]
    assert sorted((u.agent, u.text) for u in unique) == [("a", "a.py"), ("c", "c.py")]
