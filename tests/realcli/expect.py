"""What a user checks in the telemetry of a run whose agents are the real CLIs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.realcli.conftest import API_KEY, TIMEOUTS, FakeApi, RealWorkspace

# The fake server's fixed usage (input 123, output 45, cache read 7, cache write 11,
# reasoning 3; fixtures README) as each CLI passes it on and speckit records it
# (telemetry field: value). prompt_tokens is every input token the model read, cached
# ones included, for every driver: claude reports its cache apart from input (Anthropic),
# so speckit adds it in (123 + 7 + 11); gemini and codex count it inside input already.
# Only claude passes on the cache write, codex reports 0. total_tokens is the provider's
# own total when it gives one (gemini: 171, thoughts included), else input + output.
EXPECTED_USAGE: dict[str, dict[str, int | None]] = {
    "claude": {
        "prompt_tokens": 141,
        "total_tokens": 141 + 45,
        "completion_tokens": 45,
        "reasoning_tokens": None,
        "cache_read_tokens": 7,
        "cache_write_tokens": 11,
    },
    "gemini": {
        "prompt_tokens": 123,
        "total_tokens": 171,
        "completion_tokens": 45,
        "reasoning_tokens": 3,
        "cache_read_tokens": 7,
        "cache_write_tokens": None,
    },
    "codex": {
        "prompt_tokens": 123,
        "total_tokens": 123 + 45,
        "completion_tokens": 45,
        "reasoning_tokens": 3,
        "cache_read_tokens": 7,
        "cache_write_tokens": 0,
    },
}
# USD with PRICE, by hand: (input - cache read) x 1 + cache read x 0.5 + output x 2, per 1e6.
# gemini bills thoughts as output (45 + 3); codex's output already includes its reasoning.
EXPECTED_PRICED_COST = {
    "gemini": (116 * 1.0 + 7 * 0.5 + 48 * 2.0) / 1e6,
    "codex": (116 * 1.0 + 7 * 0.5 + 45 * 2.0) / 1e6,
}
# How each CLI's failure reads in speckit's error line, and the exit code it ends with.
FAILURE = {
    "500": {
        "claude": ("claude: HTTP 500", 1),
        "gemini": ("gemini: HTTP 500 (exit 244)", 244),
        "codex": ("codex: turn failed (exit 1)", 1),  # codex's 500 message names no status
    },
    "401": {
        "claude": ("claude: HTTP 401", 1),
        "gemini": ("gemini: HTTP 401 (exit 145)", 145),
        "codex": ("codex: turn failed (exit 1): unexpected status 401 Unauthorized", 1),
    },
}


def check_agent(
    ws: RealWorkspace, entry: dict[str, Any], cli: str, case: str, api: FakeApi
) -> None:
    """What a user checks in one agent's telemetry entry after a run against `case`."""
    name = entry["agent"]
    if case == "ok":
        assert entry["status"] == "ok", f"{name}: {entry['error']}"
        usage = {key: entry[key] for key in EXPECTED_USAGE[cli]}
        assert usage == EXPECTED_USAGE[cli], name
        if cli == "claude":  # claude prices its own call: the telemetry keeps that figure
            raw = json.loads(
                (ws.root / entry["output_path"].replace(".json", "_raw.txt")).read_text()
            )
            assert entry["cost_source"] == "reported", name
            assert entry["cost_usd"] == raw["total_cost_usd"] > 0, name
        else:
            assert entry["cost_source"] == "priced", name
            assert entry["cost_usd"] == pytest.approx(EXPECTED_PRICED_COST[cli]), name
        return
    if case == "hang":
        assert entry["status"] == "timeout", f"{name}: {entry['error']}"
        killed = f"timed out after {TIMEOUTS['hang']:g}s; process group killed; "
        assert entry["error"].startswith(killed), entry["error"]
        # what the tool last said, or that it said nothing (it may be retrying)
        assert "last message: " in entry["error"] or "printed no" in entry["error"], name
        assert entry["exit_code"] is None, name  # speckit killed it (gemini would say 0)
    else:
        fragment, exit_code = FAILURE[case][cli]
        assert entry["status"] == "failed", f"{name}: {entry['error']}"
        assert fragment in entry["error"], name
        assert entry["exit_code"] == exit_code, name
    assert api.model_calls(cli) >= 1, f"{name} never reached the fake server"
    if cli == "claude" and case != "hang":  # claude's result object reports a zero cost
        assert (entry["cost_usd"], entry["cost_source"]) == (0.0, "reported"), name
    else:
        assert (entry["cost_usd"], entry["cost_source"]) == (None, "unknown"), name
        assert entry["prompt_tokens"] is None, name


def assert_no_key_in_evidence(ws: RealWorkspace) -> None:
    """The dummy API key the agents were given appears in no evidence file."""
    leaked = [
        str(path.relative_to(ws.root))
        for path in (ws.root / "evidence").rglob("*")
        if path.is_file() and API_KEY.encode() in path.read_bytes()
    ]
    assert not leaked, f"API key written to {leaked}"
