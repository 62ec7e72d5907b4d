"""Guardrails: the checks run before each stage, and their schema-v1 evidence records.

`run_guardrail(workspace, spec_id, stage, session_id)` is the entry point; the
implement lock helpers are re-exported for the pipeline and `speckit status`.
"""

from __future__ import annotations

from speckit.evidence.naming import new_session_id
from speckit.guardrails.lock import LockInfo, LockResult, acquire_lock, read_lock, release_lock
from speckit.guardrails.policy import PolicyAsk
from speckit.guardrails.result import CheckResult
from speckit.guardrails.run import GuardrailOutcome, run_guardrail

__all__ = [
    "CheckResult",
    "GuardrailOutcome",
    "LockInfo",
    "LockResult",
    "PolicyAsk",
    "acquire_lock",
    "new_session_id",
    "read_lock",
    "release_lock",
    "run_guardrail",
]
