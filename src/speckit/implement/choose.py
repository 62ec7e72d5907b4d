"""Which candidate wins, and what implement concludes: decided in code, never by a vote.

The order of the rules is the point: tests first (a candidate whose tests fail never
wins, whatever an agent says), then the reviewer's pick, then how much a candidate
agrees with the other passing ones (files they both changed), then the smallest change.
Every step that decided is written down, so a person can check the choice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from speckit.consensus.models import Agreement, CandidateSummary, UniqueItem


@dataclass
class Choice:
    winner: CandidateSummary | None
    reasons: list[str] = field(default_factory=list)


def choose_winner(candidates: Sequence[CandidateSummary], reviewer_pick: str | None) -> Choice:
    """The best passing candidate, with the reasons; no winner when none passes."""
    passing = [c for c in candidates if c.passes]
    if not passing:
        return Choice(None, ["no candidate passes the tests"])
    tested = any(c.tests is not None for c in passing)
    reasons = [
        f"{len(passing)} of {len(candidates)} candidate(s) "
        + ("pass the tests" if tested else "are usable (no test_command: not tested)")
        + f": {', '.join(c.agent for c in passing)}"
    ]
    if len(passing) == 1:
        reasons.append(f"{passing[0].agent} is the only one")
        return Choice(passing[0], reasons)
    if reviewer_pick is not None:
        picked = next((c for c in passing if c.agent == reviewer_pick), None)
        if picked is not None:
            reasons.append(f"the reviewer picked {picked.agent}")
            return Choice(picked, reasons)
        named = next((c for c in candidates if c.agent == reviewer_pick), None)
        why = f"its candidate {named.status}" if named else "not a candidate"
        reasons.append(f"the reviewer's pick {reviewer_pick!r} does not count ({why})")
    shared = {c.agent: _files_in_common(c, passing) for c in passing}
    best_shared = max(shared.values())
    ranked = [c for c in passing if shared[c.agent] == best_shared]
    if len(ranked) == 1:
        reasons.append(
            f"{ranked[0].agent} shares the most files with the other passing candidates "
            f"({best_shared})"
        )
        return Choice(ranked[0], reasons)
    smallest = min(c.added + c.removed for c in ranked)
    ranked = [c for c in ranked if c.added + c.removed == smallest]
    reasons.append(f"{ranked[0].agent} has the fewest changed lines ({smallest})")
    if len(ranked) > 1:
        reasons.append(f"tied with {', '.join(c.agent for c in ranked[1:])}: first in the roster")
    return Choice(ranked[0], reasons)


def _files_in_common(candidate: CandidateSummary, passing: Sequence[CandidateSummary]) -> int:
    mine = set(candidate.files)
    return sum(len(mine & set(other.files)) for other in passing if other is not candidate)


def file_agreements(
    candidates: Sequence[CandidateSummary], quorum: int
) -> tuple[list[Agreement], list[Agreement], list[UniqueItem]]:
    """Files changed by at least `quorum` candidates (agreements), by several but fewer
    (partial), and by one only (unique): the consensus vocabulary, over real changes."""
    changed = [c for c in candidates if c.files]
    counts: Counter[str] = Counter(path for c in changed for path in dict.fromkeys(c.files))
    need = max(quorum, 1)
    agreements: list[Agreement] = []
    partial: list[Agreement] = []
    unique: list[UniqueItem] = []
    for path, count in sorted(counts.items()):
        agents = [c.agent for c in changed if path in c.files]
        if count >= need:
            agreements.append(Agreement(text=path, agents=agents))
        elif count > 1:
            partial.append(Agreement(text=path, agents=agents))
        else:
            unique.append(UniqueItem(agent=agents[0], text=path))
    return agreements, partial, unique


def degraded_reasons(candidates: Sequence[CandidateSummary]) -> list[str]:
    """Why implement is degraded: an implementer that failed, changed nothing or was
    rejected, and no passing candidate at all (naming the failing tests)."""
    reasons = [
        f"{c.agent}: {c.status}" + (f" ({c.reason})" if c.reason else "")
        for c in candidates
        if c.status in ("failed", "empty", "rejected")
    ]
    if not any(c.passes for c in candidates):
        red = [c for c in candidates if c.status == "ok" and c.tests is not None]
        if red:
            reasons.append("no candidate passes the tests: " + "; ".join(_red(c) for c in red))
        elif not reasons:
            reasons.append("no usable candidate")
    return reasons


def _red(candidate: CandidateSummary) -> str:
    tests = candidate.tests
    assert tests is not None
    failing = f" ({', '.join(tests.failing[:3])})" if tests.failing else ""
    return f"{candidate.agent}: {tests.summary}{failing}"
