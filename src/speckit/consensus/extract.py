"""Pull the JSON object out of an agent's text answer.

Models wrap their JSON in prose or fenced blocks. We try, in order: the whole
text; fenced blocks that start a line (a line-start fence cannot sit inside a
JSON string, whose newlines are escaped); then the first `{` from which a
complete object decodes.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?:json|JSON|jsonc)?[ \t]*\r?\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL
)
_MAX_STARTS = 500  # `{` positions tried by the scan: bounds the work on pathological text
_DECODER = json.JSONDecoder()


def _as_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, str):  # a JSON string holding the JSON (some tools double-encode)
        stripped = value.strip()
        if stripped.startswith("{"):
            try:
                value = json.loads(stripped)
            except (ValueError, RecursionError):
                return None
    return value if isinstance(value, dict) else None


def _scan(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_STARTS:
        tries += 1
        try:
            value, _end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def extract_json(text: str) -> dict[str, Any] | None:
    """The JSON object an agent answered with, or None when there is none."""
    if not text:
        return None
    stripped = text.strip().lstrip("\ufeff")
    if stripped.startswith(("{", '"')):
        whole = _as_object(stripped)
        if whole is not None:
            return whole
    if "```" in text:
        for match in _FENCE.finditer(text):
            found = _as_object(match.group(1).strip())
            if found is not None:
                return found
    return _scan(text)
