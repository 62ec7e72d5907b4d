"""Build AgentResults and stage answers directly, as the drivers would return them."""

from __future__ import annotations

import json
from typing import Any

from speckit.agents.result import AgentResult, Usage

STEPS = [
    "Add the rate limiter middleware to the login route",
    "Store failed attempts per IP in Redis with a 15 minute window",
    "Return HTTP 429 with a Retry-After header when the limit is hit",
    "Write integration tests for the limiter",
]


def plan_answer(steps: list[str], conflicts: list[str] | None = None) -> dict[str, Any]:
    return {
        "final_plan": {"work_breakdown": [{"step": s} for s in steps], "risks": []},
        "consensus": {"agreements": [], "conflicts": conflicts or []},
    }


def decision_answer(decision: str, field: str = "decision") -> dict[str, Any]:
    return {field: decision, "reasons": ["tests pass"], "consensus": {"conflicts": []}}


def result(
    agent: str,
    answer: dict[str, Any] | None = None,
    *,
    status: str = "ok",
    text: str | None = None,
    error: str | None = None,
    tokens: tuple[int, int] = (1000, 200),
    cost: float | None = 0.01,
    latency_ms: int = 1200,
    role: str = "proposer",
) -> AgentResult:
    """An AgentResult whose text is `answer` wrapped in prose (parsed left to the synthesis)."""
    if text is None:
        text = "" if answer is None else f"Here is my answer:\n```json\n{json.dumps(answer)}\n```"
    return AgentResult.model_validate(
        {
            "agent": agent,
            "driver": "scripted",
            "model": f"{agent}-model",
            "role": role,
            "status": status,
            "text": text,
            "error": error,
            "latency_ms": latency_ms,
            "usage": Usage(input_tokens=tokens[0], output_tokens=tokens[1], cache_read_tokens=0),
            "cost_usd": cost,
            "cost_source": "priced" if cost is not None else "unknown",
            "exit_code": 0 if status == "ok" else 1,
        }
    )
