"""Policy checks with an injected policy_ask: skipped, advisory, blocking."""

from __future__ import annotations

from speckit.guardrails import run_guardrail
from speckit.guardrails.policy import PolicyAnswer
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import check_named, set_policy


class Asker:
    """A policy_ask that records its calls and answers from a table."""

    def __init__(self, answers: dict[str, tuple[bool, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], str]] = []

    def __call__(self, agents: list[str], prompt: str) -> list[PolicyAnswer]:
        self.calls.append((agents, prompt))
        return [PolicyAnswer(name, *self.answers[name]) for name in agents if name in self.answers]


def test_skipped_when_no_policy_agents(repo: Repo) -> None:
    asker = Asker({})
    outcome = run_guardrail(repo.ws, repo.spec_id, "tasks", "s1", env={}, policy_ask=asker)
    policy = check_named(outcome.checks, "policy")
    assert policy.status == "skipped" and "no policy agents configured" in policy.reason
    assert asker.calls == []


def test_skipped_when_no_policy_ask_is_given(repo: Repo) -> None:
    set_policy(repo.root, ["claude"], blocking=True)
    outcome = run_guardrail(repo.ws, repo.spec_id, "tasks", "s1", env={})
    policy = check_named(outcome.checks, "policy")
    assert policy.status == "skipped" and "no agent runner" in policy.reason
    assert outcome.passed


def test_approval_passes_and_the_agents_get_the_stage(repo: Repo) -> None:
    set_policy(repo.root, ["claude", "gemini"], blocking=True)
    asker = Asker({"claude": (True, "fine"), "gemini": (True, "ok")})
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={}, policy_ask=asker)
    assert outcome.passed
    [(agents, prompt)] = asker.calls
    assert agents == ["claude", "gemini"]
    assert repo.spec_id in prompt and "validate" in prompt
    block = outcome.record["policy"]
    assert block["status"] == "passed"
    assert block["agents"] == [
        {"agent": "claude", "status": "passed", "note": "fine"},
        {"agent": "gemini", "status": "passed", "note": "ok"},
    ]


def test_refusal_is_advisory_by_default(repo: Repo) -> None:
    set_policy(repo.root, ["claude", "gemini"], blocking=False)
    asker = Asker({"claude": (True, "fine"), "gemini": (False, "tests are missing")})
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={}, policy_ask=asker)
    assert outcome.passed
    assert outcome.failed_checks == []
    [advice] = outcome.advisories
    assert advice.name == "policy" and "gemini: tests are missing" in advice.reason
    assert outcome.record["status"] == "passed"
    assert outcome.record["policy"]["status"] == "failed"
    assert outcome.record["policy"]["blocking"] is False
    # earlier readers fail on any failed scenario: advisory checks are not scenarios
    assert all(s["name"] != "policy" for s in outcome.record["scenarios"])


def test_refusal_blocks_when_blocking(repo: Repo) -> None:
    set_policy(repo.root, ["claude"], blocking=True)
    asker = Asker({"claude": (False, "plan is too vague")})
    outcome = run_guardrail(repo.ws, repo.spec_id, "validate", "s1", env={}, policy_ask=asker)
    assert not outcome.passed
    [failed] = outcome.failed_checks
    assert failed.name == "policy" and "claude: plan is too vague" in failed.reason
    assert {"name": "policy", "status": "failed"} in outcome.record["scenarios"]


def test_an_agent_that_does_not_answer_refuses(repo: Repo) -> None:
    set_policy(repo.root, ["claude", "gemini"], blocking=True)
    outcome = run_guardrail(repo.ws, repo.spec_id, "tasks", "s1", env={},
                            policy_ask=Asker({"claude": (True, "fine")}))  # fmt: skip
    assert "gemini: no answer" in outcome.failed_checks[0].reason
    assert outcome.record["tool"] == {"status": "failed"}


def test_a_failing_policy_ask_is_a_failed_check_not_a_crash(repo: Repo) -> None:
    set_policy(repo.root, ["claude"], blocking=True)

    def broken(_agents: list[str], _prompt: str) -> list[tuple[str, bool, str]]:
        raise RuntimeError("claude CLI not installed")

    outcome = run_guardrail(repo.ws, repo.spec_id, "tasks", "s1", env={}, policy_ask=broken)
    assert "claude CLI not installed" in outcome.failed_checks[0].reason


def test_unknown_policy_agent_fails(repo: Repo) -> None:
    set_policy(repo.root, ["nobody"], blocking=False)
    outcome = run_guardrail(repo.ws, repo.spec_id, "tasks", "s1", env={}, policy_ask=Asker({}))
    policy = check_named(outcome.checks, "policy")
    assert policy.status == "failed" and "nobody" in policy.reason
    assert outcome.passed  # advisory


def test_blocking_refusal_on_implement_takes_no_lock(repo: Repo) -> None:
    from speckit.guardrails import read_lock

    set_policy(repo.root, ["claude"], blocking=True)
    asker = Asker({"claude": (False, "no")})
    outcome = run_guardrail(repo.ws, repo.spec_id, "implement", "s1", env={}, policy_ask=asker)
    assert not outcome.passed
    assert outcome.record["lock_status"] == "skipped"
    assert outcome.record["hook_status"] == "failed"
    assert read_lock(repo.ws, repo.spec_id) is None
