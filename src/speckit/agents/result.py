"""What every driver returns: one `AgentResult` per agent call.

This is the only shape the consensus, evidence and telemetry layers see, so a
driver's job is to turn its tool's own output into exactly this.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

AgentStatus = Literal["ok", "failed", "timeout", "invalid", "missing", "cancelled"]
CostSource = Literal["reported", "priced", "local", "unknown"]


class Usage(BaseModel):
    """Token counts as the tool reported them (None when it did not say)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        parts = [self.input_tokens, self.output_tokens]
        if all(p is None for p in parts):
            return None
        return sum(p or 0 for p in parts)


class AgentResult(BaseModel):
    """The outcome of one agent call, whatever the driver."""

    agent: str
    driver: str
    model: str = ""
    role: str = "proposer"
    status: AgentStatus
    text: str = ""
    parsed: dict[str, Any] | None = None
    # Which JSON object of `text` is `parsed`: {"index", "of", "why"} (None: not from text).
    json_source: dict[str, Any] | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: int = 0
    exit_code: int | None = None
    cost_usd: float | None = None
    cost_source: CostSource = "unknown"
    error: str | None = None
    raw_output_path: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "ok"
