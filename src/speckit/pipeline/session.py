"""Run identity: UTC timestamps in the evidence format and session ids."""

from __future__ import annotations

import datetime as dt
import secrets


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the timestamp format of evidence file names (design §5)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_session_id(timestamp: str) -> str:
    """`<timestamp>-<random digits>`, as the earlier system's guardrail session ids."""
    return f"{timestamp}-{secrets.randbelow(10**9)}"
