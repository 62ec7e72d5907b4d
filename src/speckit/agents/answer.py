"""Small text helpers shared by drivers: find the JSON answer, make one-line errors.

`parse_answer` prefers the consensus package's robust extractor when it is
installed (speckit.consensus.extract) and otherwise does a minimal search:
the whole text, then fenced blocks, then the first balanced `{...}`.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MAX_STARTS = 50  # `{` positions tried by the fallback scan (bounds the work on huge text)


def _external_extractor() -> Callable[[str], dict[str, Any] | None] | None:
    try:
        module = importlib.import_module("speckit.consensus.extract")
    except ImportError:
        return None
    extractor = getattr(module, "extract_json", None)
    return extractor if callable(extractor) else None


def load_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def minimal_extract(text: str) -> dict[str, Any] | None:
    """The JSON object in `text`: whole text, last fenced block, or first decodable `{`."""
    whole = load_object(text.strip())
    if whole is not None:
        return whole
    for block in reversed(_FENCE.findall(text)):
        found = load_object(block.strip())
        if found is not None:
            return found
    decoder = json.JSONDecoder()
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_STARTS:
        tries += 1
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def parse_answer(text: str) -> dict[str, Any] | None:
    """The JSON object an agent answered with, or None."""
    if not text.strip():
        return None
    extractor = _external_extractor()
    if extractor is not None:
        try:
            return extractor(text)
        except Exception:  # a bug there must not cost us the answer
            return minimal_extract(text)
    return minimal_extract(text)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and ANSI colours into one line of at most `limit` characters."""
    flat = " ".join(_ANSI.sub("", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (4+ characters) in `text` with `***`."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


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
