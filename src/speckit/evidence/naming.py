"""Evidence file names, parsed and built in one place.

Stage runs (`consensus/<SPEC>/`): `spec-<stage>_<key>_<suffix>.json[l]`. Guardrail records
(`commands/<SPEC>/`): `spec-<stage>_<session>.json`, with its `.log` and, for plan,
`baseline_<session>.md`.

`<key>` is the run's UTC timestamp `YYYY-MM-DDTHH:MM:SSZ`, with `-N` appended
when a second run of the same SPEC and stage claimed the same second.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

_DATE_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"
TIMESTAMP = rf"{_DATE_TIME}Z"  # run keys, and every timestamp speckit writes (`utc_timestamp`)
# What a telemetry record's `timestamp` may hold: the earlier system wrote fractions of a second.
RECORD_TIMESTAMP = rf"{_DATE_TIME}(\.\d+)?Z"
_TIMESTAMP = re.compile(rf"^{TIMESTAMP}$")
_NAME = re.compile(
    rf"^(?P<command>spec-[a-z]+)_(?P<key>{TIMESTAMP}(?:-(?P<seq>\d+))?)_(?P<rest>.+)"
    r"\.(?P<ext>jsonl|json)$"
)
_GUARDRAIL_RECORD = re.compile(r"^spec-(?P<stage>[a-z]+)_(?P<session>.+)\.json$")
Kind = Literal["agent", "metrics", "synthesis", "telemetry", "override", "raw"]


@dataclass(frozen=True)
class EvidenceName:
    command: str  # spec-plan
    key: str  # 2025-10-05T04:31:14Z or 2025-10-05T04:31:14Z-2
    kind: Kind
    agent: str | None = None

    @property
    def stage(self) -> str:
        return self.command.removeprefix("spec-")

    @property
    def sort_key(self) -> tuple[str, int]:
        return key_order(self.key)


def key_order(key: str) -> tuple[str, int]:
    """Sort order of run keys: by timestamp, then by the `-N` sequence number."""
    stamp, _, seq = key.partition("Z-")
    return (stamp.rstrip("Z") + "Z", int(seq) if seq.isdigit() else 1)


def is_timestamp(text: str) -> bool:
    return bool(_TIMESTAMP.match(text))


def parse_name(name: str) -> EvidenceName | None:
    """What an evidence file is, from its name; None for other files (temp files, .txt, …)."""
    if name.startswith("."):
        return None
    match = _NAME.match(name)
    if match is None:
        return None
    command, key, rest, ext = match["command"], match["key"], match["rest"], match["ext"]
    if ext == "jsonl":
        return EvidenceName(command, key, "telemetry") if rest == "telemetry" else None
    if rest in ("synthesis", "override"):
        return EvidenceName(command, key, rest)  # type: ignore[arg-type]
    if rest.endswith("_raw"):
        return EvidenceName(command, key, "raw", rest.removesuffix("_raw"))
    if rest.endswith("_metrics"):
        return EvidenceName(command, key, "metrics", rest.removesuffix("_metrics"))
    return EvidenceName(command, key, "agent", rest)


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` for `now` (default: the current time)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_session_id(timestamp: str | None = None) -> str:
    """`<timestamp>-<random digits>`, the earlier system's session id shape."""
    import secrets

    return f"{timestamp or utc_timestamp()}-{secrets.randbelow(10**9)}"


def bundle_file(command: str, key: str, suffix: str, ext: str = "json") -> str:
    return f"{command}_{key}_{suffix}.{ext}"


def guardrail_record_file(stage: str, session_id: str) -> str:
    return f"spec-{stage}_{session_id}.json"


def guardrail_log_file(stage: str, session_id: str) -> str:
    return f"spec-{stage}_{session_id}.log"


def baseline_report_file(session_id: str) -> str:
    return f"baseline_{session_id}.md"


def parse_guardrail_record_name(name: str) -> tuple[str, str] | None:
    """(stage, session id) of a guardrail record's file name; None for any other file."""
    match = _GUARDRAIL_RECORD.match(name)
    return (match["stage"], match["session"]) if match else None
