"""What is masked as a secret, and what ordinary text is left alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from speckit.agents.secrets import flag_secrets, mark_running, mask, scrub_leftovers


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("key sk-proj-0123456789abcdefXYZ done", "key *** done"),
        ("sk-ant-api03-AbCdEfGhIjKl0123456789", "***"),
        ('{"k": "sk-live-0123456789abcdefghij"}', '{"k": "***"}'),
        ("AIzaSyA0123456789abcdefghijklmnopqrstu", "***"),
        ("ghp_0123456789abcdefghijABCDEFGHIJklmnop.", "***."),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "***"),
        ("id AKIAIOSFODNN7EXAMPLE", "id ***"),
        ("Authorization: Bearer abc123def456ghi789jkl", "Authorization: Bearer ***"),
        (
            "-H 'authorization: bearer eyJ0eXAi0.eyJzdWIi0.s1g'",
            "-H 'authorization: bearer ***'",
        ),
    ],
)
def test_key_shapes_are_masked(text: str, masked: str) -> None:
    assert mask(text, []) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Split task-0123456789abcdefghij into two",  # 'sk-' inside a word
        "risk-assessment-for-every-endpoint",
        "set max-tokens to 4000 and use sk-learn",
        "Bearer tokens are sent in the Authorization header",
        "Bearer authentication-for-every-endpoint",  # no digit: prose, not a token
        "ghp_short and AIzaShort",
        "MASKAKIAIOSFODNN7EXAMPLEX",  # inside a longer word
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask(text, []) == text


def test_known_values_are_masked_longest_first() -> None:
    assert mask("a=hunter22hunter22 b=hunter22", ["hunter22", "hunter22hunter22"]) == "a=*** b=***"


@pytest.mark.parametrize(
    ("argv", "secrets"),
    [
        (["--api-key", "live-value-123"], ["live-value-123"]),
        (["--token=live-value-123"], ["live-value-123"]),
        (["--apiKey", "live-value-123"], ["live-value-123"]),
        (
            ["--client-secret", "live-value-123", "--db-pass=x", "--db-password=pa55word!"],
            ["live-value-123", "pa55word!"],
        ),
        (["OPENAI_API_KEY=live-value-123", "env"], ["live-value-123"]),
        (["--max-tokens", "400000000"], []),
        (["--key-file", "/home/me/.keys/agent.pem"], []),
        (["--token", "--verbose"], []),
        (["--token", "short"], []),
        (["--model", "gpt-5-live-value-123"], []),
    ],
)
def test_values_of_secret_flags(argv: list[str], secrets: list[str]) -> None:
    assert flag_secrets(argv) == secrets


def test_leftovers_of_a_dead_process_are_scrubbed_and_a_live_ones_are_not(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that has certainly exited: its speckit died without scrubbing
    left = tmp_path / "spec-plan_k_a_raw.txt"
    left.write_text("key env-held-key-0123456789")
    (tmp_path / "spec-plan_k_a_raw.txt.stderr").write_text("err env-held-key-0123456789")
    mark_running(left).write_text(str(gone.pid))
    running = tmp_path / "spec-plan_k_b_raw.txt"
    running.write_text("key env-held-key-0123456789")
    mark_running(running)  # this process: still running, it scrubs its own files

    scrub_leftovers(tmp_path, ["env-held-key-0123456789"])
    assert left.read_text() == "key ***"
    assert (tmp_path / "spec-plan_k_a_raw.txt.stderr").read_text() == "err ***"
    assert not (tmp_path / ".spec-plan_k_a_raw.txt.scrub").exists()
    assert running.read_text() == "key env-held-key-0123456789"
    assert (tmp_path / ".spec-plan_k_b_raw.txt.scrub").read_text() == str(os.getpid())
