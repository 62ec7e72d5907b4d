"""Small text helpers shared by drivers: find the JSON answer, make one-line errors.

The answer itself is found by `speckit.answers.extract`, which the synthesis
uses too, so drivers and the synthesis can never disagree on what an agent said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from speckit.answers.extract import Found, find_answer

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def load_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_answer(text: str, stage: str | None = None) -> dict[str, Any] | None:
    """The JSON object an agent answered with (the one that answers `stage`), or None."""
    found = answer_in(text, stage)
    return found.data if found is not None else None


def answer_in(text: str, stage: str | None = None) -> Found | None:
    """The object that answers `stage` among the JSON objects in `text`, and which one it was.

    An agent's prose may show an example of the shape before the real answer, so the
    last object that is a valid `stage` answer wins (else the last object).
    """
    if not text.strip():
        return None
    return find_answer(text, stage)


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
