"""Unexpanded shell placeholders (`${stage}`) in the records speckit writes.

The earlier system wrote `"stage": "${stage}"` into its evidence: a field speckit
fills that still holds a `${…}` is that bug, wherever the record is (a synthesis,
a telemetry line, a guardrail record). A leaf, because the telemetry validator,
the synthesis reader and `consensus rejudge` all ask the same question.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{[^}\s\"]{0,64}\}")

# The fields speckit itself fills (ids, names, paths, times, statuses), under these keys at
# any depth. An unexpanded `${…}` in one of them is the bug this check exists for: the earlier
# system wrote `"stage": "${stage}"`. Everywhere else a `${…}` is what an agent (or a person)
# wrote, e.g. a plan item "Store counters in Redis at ${REDIS_URL}": quoted, never judged.
FILLED_KEYS = frozenset(
    {
        "schemaVersion", "command", "stage", "specId", "spec_id", "sessionId", "session_id",
        "timestamp", "promptVersion", "prompt_version", "runId", "event", "speckitVersion",
        "status", "consensusStatus", "synthesisPath", "output_path", "path", "artifact",
        "artifacts", "agent", "expected_agents", "model", "model_id", "model_release", "driver",
        "role", "cost_source", "when", "name", "mode", "session.start", "lock_status",
        "hook_status", "unlock_status", "prefilter_model", "prefilter_status", "policy_model",
        "policy_status",
    }
)  # fmt: skip


def placeholders(text: str) -> list[str]:
    """Unexpanded shell placeholders (`${stage}`) in a text, in order, de-duplicated."""
    if "${" not in text:
        return []
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def filled_placeholders(record: Any) -> list[str]:
    """Unexpanded placeholders in the fields speckit fills (`FILLED_KEYS`), never in the
    agents' words that a record quotes; in order, de-duplicated."""
    found: list[str] = []

    def walk(value: Any, filled: bool) -> None:
        if isinstance(value, str):
            if filled and "${" in value:
                found.extend(_PLACEHOLDER.findall(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, key in FILLED_KEYS)
        elif isinstance(value, list):
            for item in value:
                walk(item, filled)

    walk(record, False)
    return list(dict.fromkeys(found))


def placeholder_problem(found: list[str]) -> str:
    """The one-line problem a validator reports for `found`."""
    return (
        f"unexpanded shell placeholders {', '.join(found)}: the record was written "
        "without variable expansion"
    )
