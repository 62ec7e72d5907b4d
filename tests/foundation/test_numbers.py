"""Numbers read from other tools' JSON: a bool is never a count, and unknown is not 0."""

from __future__ import annotations

import json

import pytest

from speckit.numbers import count_or_none, count_or_zero, is_number, number_or_none, whole_or_none

NOT_NUMBERS = [None, True, False, "12", [], {}]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_json_values_that_are_not_numbers_read_as_unknown_or_zero(value: object) -> None:
    assert not is_number(value)
    assert count_or_none(value) is None
    assert count_or_zero(value) == 0
    assert number_or_none(value) is None
    assert whole_or_none(value) is None


def test_a_reported_zero_stays_a_known_zero() -> None:
    usage = json.loads('{"input_tokens": 0, "output_tokens": null}')
    assert count_or_none(usage["input_tokens"]) == 0
    assert count_or_none(usage["output_tokens"]) is None


def test_counts_take_integers_only_and_the_index_readers_take_any_number() -> None:
    assert count_or_none(12.7) is None, "a fractional token count is not a count a tool reports"
    assert count_or_zero(12.7) == 0
    assert is_number(12.7)
    assert number_or_none(3) == 3.0
    assert whole_or_none(12.7) == 12
