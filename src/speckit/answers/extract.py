"""Pull the JSON object that answers the stage out of an agent's text.

Models wrap their JSON in prose or fenced blocks, and often show an example of
the shape or quote a config line before the real answer. So we collect every
top-level JSON object in the text (the whole text when it is one; objects that
decode from a `{`; fenced blocks that start a line, whose body may be a
double-encoded string) and take the last one that is a valid answer for the
stage, else the last one. `Found.source` says which was taken, for the evidence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?:json|JSON|jsonc)?[ \t]*\r?\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL
)
_MAX_MISSES = 500  # `{` positions that decode nothing: bounds the work on pathological text
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Found:
    """The object taken, its 1-based place among the `of` objects in the text, and why."""

    data: dict[str, Any]
    index: int
    of: int
    why: str

    @property
    def source(self) -> dict[str, Any]:
        """The evidence's `json_source` field."""
        return {"index": self.index, "of": self.of, "why": self.why}


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


def _scan(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(start, end, object) of every top-level object that decodes from a `{`, in order."""
    found = []
    start = text.find("{")
    misses = 0
    while start != -1 and misses < _MAX_MISSES:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            value, end = None, start + 1
        if isinstance(value, dict):
            found.append((start, end, value))
        else:
            misses += 1
            end = start + 1
        start = text.find("{", end)
    return found


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object in `text`, in the order they appear."""
    if not text:
        return []
    stripped = text.strip().lstrip("\ufeff")
    if stripped.startswith(("{", '"')):
        whole = _as_object(stripped)
        if whole is not None:
            return [whole]
    spans = _scan(text)
    if "```" in text:
        for match in _FENCE.finditer(text):
            lo, hi = match.span(1)
            if any(start < hi and end > lo for start, end, _ in spans):
                continue  # the scan already has this block's object
            body = _as_object(match.group(1).strip())
            if body is not None:
                spans.append((lo, hi, body))
    return [value for _start, _end, value in sorted(spans, key=lambda span: span[0])]


def _checker(stage: str | None) -> Any:
    """`check_answer` bound to `stage`, or None when `stage` is not a pipeline stage."""
    from speckit.answers.schemas import REQUIRED_FIELD, check_answer

    if stage is None or stage.removeprefix("spec-") not in REQUIRED_FIELD:
        return None
    return lambda data: check_answer(stage, data)


def find_answer(text: str, stage: str | None = None) -> Found | None:
    """The object that answers `stage` in `text` (see the module doc); None when there is none."""
    objects = json_objects(text)
    if not objects:
        return None
    count = len(objects)
    check = _checker(stage)
    if count == 1:
        return Found(objects[0], 1, 1, "the only JSON object")
    name = stage.removeprefix("spec-") if stage else ""
    if check is not None:
        for index in range(count - 1, -1, -1):
            if check(objects[index]) is None:
                why = f"last object matching the {name} schema"
                return Found(objects[index], index + 1, count, why)
        return Found(objects[-1], count, count, f"last object; none matches the {name} schema")
    return Found(objects[-1], count, count, "last object")


def extract_json(text: str, stage: str | None = None) -> dict[str, Any] | None:
    """The JSON object an agent answered with, or None when there is none."""
    found = find_answer(text, stage)
    return found.data if found is not None else None
