"""SPEC ids: `SPEC-<AREA>-<NNN>-<slug>`, their validation and allocation.

Ids become folder names, so they are checked strictly before any path is
built from them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from speckit.errors import UsageError

SLUG_MAX = 40
# Any id speckit will accept as a folder name (the earlier system used ids like SPEC-KIT-DEMO).
_ANY_ID = re.compile(r"^SPEC-[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+)+$")
# Ids that speckit allocates itself.
_ALLOCATED = re.compile(r"^SPEC-(?P<area>[A-Z]+)-(?P<number>\d{3,})(?:-(?P<slug>[a-z0-9-]+))?$")
_AREA = re.compile(r"^[A-Z]+$")
_MAX_ID = 120


def check_spec_id(text: str) -> str:
    """Return `text` if it is a safe, well-formed SPEC id; else raise UsageError (exit 64)."""
    if not text or len(text) > _MAX_ID or not _ANY_ID.match(text):
        shown = text if text.isprintable() else repr(text)
        raise UsageError(
            f"'{shown}' is not a SPEC id: expected SPEC-<AREA>-<NNN>-<slug>, "
            "e.g. SPEC-KIT-005-add-login"
        )
    return text


def check_area(text: str) -> str:
    area = text.strip()
    if not _AREA.match(area):
        raise UsageError(f"area '{text}' must be upper-case letters A-Z, e.g. KIT or OPS")
    return area


def slugify(description: str) -> str:
    """ASCII, lower-case, hyphen-separated, at most 40 chars, cut at a word boundary."""
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_MAX:
            if not slug:  # one very long word: cut it
                slug = word[:SLUG_MAX]
            break
        slug = candidate
    return slug


def number_of(spec_id: str, area: str) -> int | None:
    """The NNN of an allocated id in `area`, or None."""
    match = _ALLOCATED.match(spec_id)
    if match and match["area"] == area:
        return int(match["number"])
    return None


def next_number(existing_ids: Iterable[str], area: str, step: int) -> int:
    """The next free multiple of `step` above every number used in `area`."""
    used = [n for n in (number_of(i, area) for i in existing_ids) if n is not None]
    highest = max(used, default=0)
    return (highest // step + 1) * step


def allocated_prefix(spec_id: str) -> str | None:
    """`SPEC-<AREA>-<NNN>` of an allocated id (what must stay unique), else None."""
    match = _ALLOCATED.match(spec_id)
    return f"SPEC-{match['area']}-{int(match['number']):03d}" if match else None


def spec_sort_key(spec_id: str) -> tuple[int, str, int, str]:
    """Order SPECs as people count them: by area, then by number (SPEC-KIT-100 < SPEC-KIT-105 <
    SPEC-KIT-1000, which text order puts between the two), then slug; ids that are not
    allocated (`SPEC-OPS-ALPHA`) follow, in text order."""
    match = _ALLOCATED.match(spec_id)
    if match is None:
        return (1, spec_id, 0, "")
    return (0, match["area"], int(match["number"]), match["slug"] or "")


def make_id(area: str, number: int, slug: str) -> str:
    return f"SPEC-{area}-{number:03d}-{slug}" if slug else f"SPEC-{area}-{number:03d}"
