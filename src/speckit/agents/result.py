"""What every driver returns: one `AgentResult` per agent call.

This is the only shape the consensus, evidence and telemetry layers see, so a
driver's job is to turn its tool's own output into exactly this.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

AgentStatus = Literal["ok", "failed", "timeout", "invalid", "missing", "cancelled"]
# "cached": served from the answer cache (`agents.cache`), no tool ran and nothing was spent.
CostSource = Literal["reported", "priced", "local", "unknown", "cached"]
# Why a call failed, when the failure says the agent cannot answer now but another could:
# out of quota, rate-limited, or not authenticated (see `agents.failures`). Such a failure
# hands the agent's slot to its `fallback`; any other failure (a 500, a timeout) does not.
FailureKind = Literal["quota", "rate_limit", "auth"]


class Usage(BaseModel):
    """Token counts as the tool reported them; None when it did not say (never a guessed 0).

    One meaning for every driver, that of OpenTelemetry's `gen_ai.usage.input_tokens`:
    - `input_tokens`: every input token the model read, cached ones included (cache
      reads and cache writes). Drivers whose tool counts cache apart (claude: Anthropic's
      `input_tokens` excludes `cache_read_input_tokens` and `cache_creation_input_tokens`)
      add them in, so prompts compare across drivers and pricing never bills twice.
    - `cache_read_tokens` / `cache_write_tokens`: the cached parts of that input, also
      recorded apart (telemetry `cache_read_tokens`, `cache_write_tokens`).
    - `output_tokens`: generated tokens as the tool counts them; `reasoning_tokens` is
      the thinking part, inside output for OpenAI/codex, apart for gemini.
    - `provider_total_tokens`: the tool's own total when it gives one (gemini's
      `total`, OpenAI's `total_tokens`); `total_tokens` prefers it, so gemini's thought
      tokens are not dropped.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    provider_total_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        """The provider's total when given, else input + output (None when neither is known)."""
        if self.provider_total_tokens is not None:
            return self.provider_total_tokens
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
    # wall-clock start of the call (ns since the epoch): span times for OpenTelemetry
    started_at_ns: int | None = None
    exit_code: int | None = None
    cost_usd: float | None = None
    cost_source: CostSource = "unknown"
    error: str | None = None
    raw_output_path: str | None = None
    # Files the tool reported it wrote or edited, relative to the request's workdir (absolute
    # when outside it), in the order reported. None: the tool's output does not say (claude and
    # gemini json mode, a `command` agent) or the request did not write. Evidence only: what a
    # candidate changed is read from its worktree, which also sees edits made through a shell.
    edited_files: list[str] | None = None
    # Served from the answer cache: the origin call's raw output (relative to the workspace),
    # which names its run. Such a result spent nothing (usage 0, cost 0, cost_source
    # "cached"); the origin call's usage and cost stay here for information.
    cached_from: str | None = None
    cached_usage: Usage | None = None
    saved_usd: float | None = None  # what the origin call cost: the money this reuse saved
    failure_kind: FailureKind | None = None  # set on failed calls only (agents.failures)
    # The agent whose slot this call filled, when it ran as that agent's fallback.
    substituted_for: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "ok"
