"""Which codex message a timeout or a failure blames.

The event lines are real codex 0.169.0 output (`codex exec --json -m gpt-5`, captured
by tests/realcli against the fake API with `--hang`): a start-up warning item comes
before the turn, then the turn hangs.
"""

from __future__ import annotations

from speckit.agents.codex_cli import CodexCli
from speckit.agents.process import ProcessOutcome

STARTUP_WARNING = (
    '{"type":"thread.started","thread_id":"01a22778-e470-7561-a88d-f26c9817435e"}\n'
    '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata'
    " for `gpt-5` not found. Defaulting to fallback metadata; this can degrade performance"
    ' and cause issues."}}\n'
    '{"type":"turn.started"}\n'
)
RECONNECTING = '{"type":"error","message":"Reconnecting... 2/5 (stream disconnected)"}\n'


def test_a_startup_warning_is_not_blamed_for_a_hung_turn() -> None:
    run = ProcessOutcome(exit_code=-15, stdout=STARTUP_WARNING, stderr="", timed_out=True)
    assert CodexCli().timeout_hint(run) is None


def test_a_message_of_the_turn_is_kept_as_the_hint() -> None:
    run = ProcessOutcome(
        exit_code=-15, stdout=STARTUP_WARNING + RECONNECTING, stderr="", timed_out=True
    )
    assert CodexCli().timeout_hint(run) == "Reconnecting... 2/5 (stream disconnected)"
