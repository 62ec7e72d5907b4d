"""Cost precedence and token conventions: reported > override > price library > unknown."""

from __future__ import annotations

import pytest

from speckit.agents.pricing import billing, cost_of, price_from_library
from speckit.agents.result import Usage
from speckit.config import PriceOverride

USAGE = Usage(input_tokens=1000, output_tokens=500, reasoning_tokens=50, cache_read_tokens=100)


def test_reported_cost_wins() -> None:
    override = PriceOverride(input_per_mtok=1, output_per_mtok=1)
    assert cost_of(USAGE, "gpt-4o", override=override, reported=0.5) == (0.5, "reported")


def test_override_wins_over_the_library() -> None:
    override = PriceOverride(input_per_mtok=2.0, output_per_mtok=10.0, cache_read_per_mtok=0.5)
    cost, source = cost_of(USAGE, "gpt-4o", override=override)
    assert source == "priced"
    assert cost == pytest.approx((900 * 2.0 + 100 * 0.5 + 500 * 10.0) / 1e6)


def _library_rates(model: str, provider: str) -> tuple[float, float, float]:
    """The price library's own (input, cache read, output) USD per million tokens.

    Read from the installed genai-prices, so a release that changes a list price
    changes the expected figure with it instead of breaking the test.
    """
    from genai_prices import Usage as LibUsage
    from genai_prices import calc_price

    rates = calc_price(LibUsage(input_tokens=1), model, provider_id=provider).model_price
    return float(rates.input_mtok), float(rates.cache_read_mtok), float(rates.output_mtok)


def test_library_prices_a_known_model_and_refuses_an_unknown_one() -> None:
    cost, source = cost_of(USAGE, "gpt-4o", provider="openai")
    assert source == "priced"
    # 1000 input tokens of which 100 are cache reads; 500 output tokens (50 of them reasoning)
    rate_in, rate_cached, rate_out = _library_rates("gpt-4o", "openai")
    assert rate_cached < rate_in, "cached input must be priced at its own, lower rate"
    assert cost == pytest.approx((900 * rate_in + 100 * rate_cached + 500 * rate_out) / 1e6)
    assert cost_of(USAGE, "no-such-model-xyz") == (None, "unknown")
    assert cost_of(USAGE, "") == (None, "unknown")


def test_no_token_counts_means_unknown() -> None:
    assert cost_of(Usage(), "gpt-4o") == (None, "unknown")
    assert cost_of(
        Usage(), "gpt-4o", override=PriceOverride(input_per_mtok=1, output_per_mtok=1)
    ) == (
        None,
        "unknown",
    )


def test_input_includes_cache_for_every_driver_and_is_billed_once() -> None:
    # claude's 123 fresh + 7 cache read + 11 cache write, as the claude driver records it
    claude = Usage(input_tokens=141, output_tokens=45, cache_read_tokens=7, cache_write_tokens=11)
    bill = billing(claude)
    assert bill is not None and (bill.input_total, bill.output_total) == (141, 45)
    override = PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0, cache_read_per_mtok=0.5)
    cost, _source = cost_of(claude, "claude-sonnet-4-5", override=override)
    # 134 uncached (cache writes billed as input) + 7 cache reads at their rate + 45 output
    assert cost == pytest.approx((134 * 1.0 + 7 * 0.5 + 45 * 2.0) / 1e6)
    gemini = Usage(input_tokens=123, output_tokens=45, reasoning_tokens=3, cache_read_tokens=7)
    bill = billing(gemini, output_includes_reasoning=False)
    assert bill is not None and (bill.input_total, bill.output_total) == (123, 48)


def test_a_count_the_tool_did_not_report_is_not_priced_as_zero() -> None:
    override = PriceOverride(input_per_mtok=1, output_per_mtok=1)
    no_output = Usage(input_tokens=123)
    assert billing(no_output) is None
    assert cost_of(no_output, "gpt-4o", override=override) == (None, "unknown")
    assert cost_of(Usage(output_tokens=45), "gpt-4o", provider="openai") == (None, "unknown")


def test_context_suffix_is_ignored_by_the_library() -> None:
    bill = billing(USAGE)
    assert bill is not None
    assert price_from_library(bill, "claude-sonnet-4-5[1m]") == price_from_library(
        bill, "claude-sonnet-4-5"
    )
