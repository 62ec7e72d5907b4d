"""Numbers read from JSON that someone else wrote: agent tools' usage, evidence, telemetry.

JSON has no integer type of its own and Python counts `True` as 1, so "is this a
number, is this a count?" is answered here once. Two meanings stay apart on purpose:
a count that was not reported is *unknown* (`count_or_none`: it is never priced or
summed as 0), and only a figure speckit always measures itself (a call's latency)
falls back to 0 (`count_or_zero`). The evidence index, which stores any number it
finds, reads floats too (`number_or_none`, `whole_or_none`).
"""

from __future__ import annotations

from typing import TypeGuard


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, never a bool (`true` in JSON is not 1 token)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def count_or_none(value: object) -> int | None:
    """An integer as given; None for anything else (absent, text, float, bool): unknown,
    never 0, so that a count a tool did not report is never priced as nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def count_or_zero(value: object) -> int:
    """An integer as given; 0 for anything else. Only for figures that speckit measures
    itself, where a missing one means nothing was recorded, not that it is unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def number_or_none(value: object) -> float | None:
    """Any number as a float; None for anything else."""
    return float(value) if is_number(value) else None


def whole_or_none(value: object) -> int | None:
    """Any number cut to an integer (12.7 → 12); None for anything else."""
    return int(value) if is_number(value) else None
