"""Turn token usage into USD: reported by the tool > config override > price library.

`Usage.input_tokens` already includes cache reads and writes for every driver
(the claude driver adds Anthropic's separate cache counts in), which is the
price library's (genai-prices) convention too, so cached tokens are billed once,
at their own rate. Output still differs, so callers say how theirs counts:
- `output_includes_reasoning`: OpenAI counts reasoning inside output tokens;
  Gemini reports thoughts separately (and bills them as output).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from speckit.agents.result import CostSource, Usage

if TYPE_CHECKING:  # only a type here: importing pricing must not load the config models
    from speckit.config import PriceOverride

_SUFFIX = re.compile(r"\[[^\]]*\]$")  # e.g. "claude-opus-4-8[1m]" → "claude-opus-4-8"


@dataclass(frozen=True)
class Billing:
    """Token totals in the price library's convention."""

    input_total: int
    cache_read: int
    cache_write: int
    output_total: int


def billing(usage: Usage, *, output_includes_reasoning: bool = True) -> Billing | None:
    """Normalise a tool's usage; None when the tool did not report both input and output
    (an unreported count is unknown, not 0: pricing it would show a made-up $0)."""
    if usage.input_tokens is None or usage.output_tokens is None:
        return None
    cache_read = usage.cache_read_tokens or 0
    cache_write = usage.cache_write_tokens or 0
    input_total = usage.input_tokens
    output_total = usage.output_tokens
    if not output_includes_reasoning:
        output_total += usage.reasoning_tokens or 0
    return Billing(input_total, cache_read, cache_write, output_total)


def price_with_override(bill: Billing, price: PriceOverride) -> float:
    """USD from a per-million-token override (cache writes billed as plain input)."""
    uncached = max(bill.input_total - bill.cache_read, 0)
    cache_rate = (
        price.cache_read_per_mtok if price.cache_read_per_mtok is not None else price.input_per_mtok
    )
    total = (
        uncached * price.input_per_mtok
        + bill.cache_read * cache_rate
        + bill.output_total * price.output_per_mtok
    )
    return total / 1_000_000


def price_from_library(bill: Billing, model: str, provider: str | None = None) -> float | None:
    """USD from genai-prices, or None when the model is unknown to it."""
    if not model:
        return None
    from genai_prices import Usage as LibUsage
    from genai_prices import calc_price

    usage = LibUsage(
        input_tokens=bill.input_total,
        cache_read_tokens=bill.cache_read,
        cache_write_tokens=bill.cache_write,
        output_tokens=bill.output_total,
    )
    ref = _SUFFIX.sub("", model.strip())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for provider_id in (provider, None) if provider else (None,):
            try:
                result = calc_price(usage, ref, provider_id=provider_id)
            except (LookupError, ValueError, KeyError):
                continue
            return float(result.total_price)
    return None


def cost_of(
    usage: Usage,
    model: str,
    *,
    override: PriceOverride | None = None,
    reported: float | None = None,
    provider: str | None = None,
    output_includes_reasoning: bool = True,
) -> tuple[float | None, CostSource]:
    """(cost_usd, cost_source) following the precedence reported > override > library."""
    if reported is not None:
        return reported, "reported"
    bill = billing(usage, output_includes_reasoning=output_includes_reasoning)
    if bill is None:
        return None, "unknown"
    if override is not None:
        return price_with_override(bill, override), "priced"
    cost = price_from_library(bill, model, provider)
    return (cost, "priced") if cost is not None else (None, "unknown")


def warm_up() -> None:
    """Load the price library and its price data (~100 ms) before the first agent answers."""
    price_from_library(Billing(input_total=1, cache_read=0, cache_write=0, output_total=1), "gpt-5")
