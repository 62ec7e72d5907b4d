"""The implement lock: held by a live process, stale, re-entrant, released by unlock."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from speckit.guardrails import acquire_lock, read_lock, release_lock, run_guardrail
from speckit.guardrails.lock import lock_path
from speckit.guardrails.policy import PolicyAnswer
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import check_named, set_policy


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process to own a lock."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_implement_takes_the_lock_for_this_process(repo: Repo) -> None:
    import os

    outcome = run_guardrail(repo.ws, repo.spec_id, "implement", "s1", env={})
    assert outcome.passed
    assert outcome.record["lock_status"] == "locked"
    assert outcome.record["hook_status"] == "ok"
    info = read_lock(repo.ws, repo.spec_id)
    assert info is not None and info.pid == os.getpid() and info.session_id == "s1"
    assert lock_path(repo.ws, repo.spec_id).parent == repo.root / ".speckit" / "locks"
    again = run_guardrail(repo.ws, repo.spec_id, "implement", "s2", env={})  # validate retry
    assert again.passed
    assert "renewed" in check_named(again.checks, "lock").reason


def test_lock_held_by_a_live_process_refuses_a_second_implement(
    repo: Repo, sleeper: subprocess.Popen[bytes]
) -> None:
    assert acquire_lock(repo.ws, repo.spec_id, "first", pid=sleeper.pid).acquired
    outcome = run_guardrail(repo.ws, repo.spec_id, "implement", "second", env={})
    assert not outcome.passed
    [failed] = outcome.failed_checks
    assert failed.name == "lock"
    assert f"locked by pid {sleeper.pid}" in failed.reason and "session first" in failed.reason
    assert outcome.record["lock_status"] == "held"
    assert read_lock(repo.ws, repo.spec_id).pid == sleeper.pid  # type: ignore[union-attr]


def test_stale_lock_of_a_dead_process_is_taken_over(repo: Repo) -> None:
    dead = _dead_pid()
    assert acquire_lock(repo.ws, repo.spec_id, "crashed", pid=dead).acquired
    outcome = run_guardrail(repo.ws, repo.spec_id, "implement", "s2", env={})
    assert outcome.passed
    reason = check_named(outcome.checks, "lock").reason
    assert reason.startswith("stale lock taken over") and f"pid {dead}" in reason
    assert read_lock(repo.ws, repo.spec_id).session_id == "s2"  # type: ignore[union-attr]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_reused_pid_is_stale(repo: Repo, sleeper: subprocess.Popen[bytes]) -> None:
    path = lock_path(repo.ws, repo.spec_id)
    assert acquire_lock(repo.ws, repo.spec_id, "old", pid=sleeper.pid).acquired
    data = json.loads(path.read_text())
    data["pid_start"] = "1"  # the recorded owner started long ago: this pid is someone else
    path.write_text(json.dumps(data))
    assert acquire_lock(repo.ws, repo.spec_id, "new").note.startswith("stale lock taken over")


def test_unreadable_lock_file_is_stale(repo: Repo) -> None:
    path = lock_path(repo.ws, repo.spec_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("garbage")
    result = acquire_lock(repo.ws, repo.spec_id, "s1")
    assert result.acquired and result.note.startswith("stale lock taken over")


def test_unlock_releases_the_lock(repo: Repo, sleeper: subprocess.Popen[bytes]) -> None:
    assert acquire_lock(repo.ws, repo.spec_id, "first", pid=sleeper.pid).acquired
    outcome = run_guardrail(repo.ws, repo.spec_id, "unlock", "s9", env={})
    assert outcome.passed
    assert outcome.record["unlock_status"] == "unlocked"
    assert check_named(outcome.checks, "unlock").reason == "lock released"
    assert read_lock(repo.ws, repo.spec_id) is None
    assert run_guardrail(repo.ws, repo.spec_id, "implement", "s10", env={}).passed
    assert run_guardrail(repo.ws, repo.spec_id, "unlock", "s11", env={}).passed
    assert release_lock(repo.ws, repo.spec_id) is False
    nothing = run_guardrail(repo.ws, repo.spec_id, "unlock", "s12", env={})
    assert nothing.passed  # unlocking with no lock is fine and says so
    assert nothing.record["unlock_status"] == "unlocked"
    assert check_named(nothing.checks, "unlock").reason == "no lock was held"


def test_unlock_keeps_the_lock_when_policy_blocks(repo: Repo) -> None:
    assert run_guardrail(repo.ws, repo.spec_id, "implement", "s1", env={}).passed
    set_policy(repo.root, ["claude"], blocking=True)

    def refuse(agents: list[str], _prompt: str) -> list[PolicyAnswer]:
        return [PolicyAnswer(name, False, "audit not done") for name in agents]

    outcome = run_guardrail(repo.ws, repo.spec_id, "unlock", "s2", env={}, policy_ask=refuse)
    assert not outcome.passed
    assert outcome.record["unlock_status"] == "kept"
    assert read_lock(repo.ws, repo.spec_id) is not None


def test_lock_refuses_a_bad_spec_id(repo: Repo) -> None:
    from speckit.errors import UsageError

    with pytest.raises(UsageError):
        acquire_lock(repo.ws, "../../etc", "s1")
