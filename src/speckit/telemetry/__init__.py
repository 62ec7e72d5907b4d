"""Telemetry: schema-v2 consensus lines, schema-v1 guardrail records, their validator and summary.

Field names are the earlier system's (see docs/architecture.md): new fields may
be added, none removed, so its files still validate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_SWITCH = "SPEC_KIT_TELEMETRY_ENABLED"
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"1", "true", "yes", "on"})


def telemetry_enabled(config_default: bool, env: Mapping[str, str] | None = None) -> bool:
    """Whether to write telemetry lines: SPEC_KIT_TELEMETRY_ENABLED wins over the config."""
    from speckit.errors import UsageError

    value = (os.environ if env is None else env).get(ENV_SWITCH, "").strip().lower()
    if not value:
        return config_default
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise UsageError(f"{ENV_SWITCH} must be 0 or 1 (or true/false), got {value!r}")
