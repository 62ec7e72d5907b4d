"""Small text helpers shared by drivers: find the JSON answer, make one-line errors.

The answer itself is found by the consensus package's extractor, so drivers
and the synthesis can never disagree on what an agent said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from speckit.consensus.extract import extract_json

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def load_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_answer(text: str) -> dict[str, Any] | None:
    """The JSON object an agent answered with, or None."""
    if not text.strip():
        return None
    return extract_json(text)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and ANSI colours into one line of at most `limit` characters."""
    flat = " ".join(_ANSI.sub("", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (4+ characters) and every key shape as `***`
    (what counts as a key shape: `speckit.agents.secrets`)."""
    from speckit.agents.secrets import mask

    return mask(text, secrets)


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last top-level JSON object in tool output (e.g. gemini's error after a stack trace)."""
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("{"):
            found = load_object("\n".join(lines[index:]).strip())
            if found is not None:
                return found
    return None


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` that is a JSON object (JSONL event streams)."""
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            found = load_object(line)
            if found is not None:
                events.append(found)
    return events
