"""`run_guardrail`: the checks of one stage, the schema-v1 record and its evidence.

plan: clean tree (the SPEC's documents and SPEC.md may differ from HEAD: they are
the stage's inputs, recorded with their hashes), baseline audit, policy ·
tasks: tasks.md lint, policy · implement: policy, then the SPEC lock ·
validate/audit: HTTP checks, policy · unlock: policy, then the lock is released.
Every check runs (so all problems show at once) except that the lock is neither
taken nor released after a blocking failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speckit.evidence.naming import (
    baseline_report_file,
    guardrail_log_file,
    guardrail_record_file,
    utc_timestamp,
)
from speckit.fsutil import make_folder
from speckit.guardrails.baseline import MODE, lint_tasks_check, run_baseline
from speckit.guardrails.clean_tree import stage_inputs, start_clean_tree
from speckit.guardrails.http_checks import run_http_checks
from speckit.guardrails.lock import acquire_lock, release_lock
from speckit.guardrails.policy import PolicyAsk, run_policy
from speckit.guardrails.record import (
    build_record,
    check_session_id,
    write_log,
    write_record,
    write_together,
)
from speckit.guardrails.result import CheckResult, Timer
from speckit.specs.documents import spec_dir
from speckit.specs.ids import check_spec_id
from speckit.stages import parse_stage
from speckit.workspace import Workspace

ALLOW_DIRTY_ENV = "SPEC_OPS_ALLOW_DIRTY"
_MAX_LISTED = 50


@dataclass
class GuardrailOutcome:
    passed: bool  # False if any blocking check failed
    record_path: Path  # evidence/commands/<SPEC>/spec-<stage>_<session>.json
    record: dict[str, Any]  # the schema-v1 record as written
    checks: list[CheckResult]

    @property
    def failed_checks(self) -> list[CheckResult]:
        """The checks that failed the guardrail (advisory failures are not among them)."""
        return [check for check in self.checks if check.blocks]

    @property
    def advisories(self) -> list[CheckResult]:
        """Failed advisory checks: recorded, not blocking."""
        return [c for c in self.checks if c.status == "failed" and not c.blocking]


@dataclass
class _Run:
    workspace: Workspace
    spec_id: str
    stage: str
    session_id: str
    out_dir: Path
    env: Mapping[str, str]
    policy: CheckResult
    checks: list[CheckResult]
    artifacts: list[Path]
    fields: dict[str, Any]

    def shown(self, path: Path) -> str:
        return path.relative_to(self.workspace.root).as_posix()

    def blocked(self) -> bool:
        return any(check.blocks for check in self.checks)


def _plan(run: _Run, allow_dirty: bool) -> None:
    ws = run.workspace
    allowed_by = "--allow-dirty" if allow_dirty else None
    if allowed_by is None and run.env.get(ALLOW_DIRTY_ENV, "") == "1":
        allowed_by = f"{ALLOW_DIRTY_ENV}=1"
    inputs = stage_inputs(ws.root, spec_dir(ws, run.spec_id))
    pending = start_clean_tree(ws.root, [ws.evidence_root, ws.cache_dir], allowed_by, inputs)
    report = run.out_dir / baseline_report_file(run.session_id)
    try:  # the baseline audit runs while git works
        baseline = run_baseline(ws, run.spec_id, report, utc_timestamp())
    finally:
        found = pending.finish()
    tree, modified = found.result, found.modified
    run.checks[:0] = [tree, baseline]
    run.artifacts.append(report)
    hook_ok = not tree.blocks and not run.policy.blocks
    run.fields["baseline"] = {
        "mode": MODE,
        "artifact": run.shown(report),
        "status": baseline.status,
    }
    run.fields["hooks"] = {"session.start": "ok" if hook_ok else "failed"}
    run.fields["clean_tree"] = {
        "status": tree.status,
        "modified": modified[:_MAX_LISTED],
        "allowed_by": allowed_by if modified else None,
        "allowed_changes": [change.as_record() for change in found.allowed],
    }


def _tasks(run: _Run) -> None:
    run.checks.insert(0, lint_tasks_check(run.workspace, run.spec_id))
    run.fields["tool"] = {"status": "failed" if run.blocked() else "ok"}


def _implement(run: _Run) -> None:
    hook_ok = not run.blocked()
    timer = Timer("lock")
    if not hook_ok:
        run.checks.append(timer.result("skipped", "lock not taken: the guardrail already failed"))
        lock_status = "skipped"
    else:
        taken = acquire_lock(run.workspace, run.spec_id, run.session_id)
        run.checks.append(timer.result("passed" if taken.acquired else "failed", taken.note))
        lock_status = "locked" if taken.acquired else "held"
    run.fields["lock_status"] = lock_status
    run.fields["hook_status"] = "ok" if hook_ok else "failed"


def _validate_or_audit(run: _Run) -> None:
    config = run.workspace.config.guardrails
    http = run_http_checks(config.http_checks, run.env, run.out_dir, run.session_id, run.shown)
    run.checks[:0] = http.checks
    run.artifacts.extend(http.artifacts)
    run.fields["scenarios"] = [
        {"name": check.name, "status": check.status} for check in run.checks if check.blocking
    ]
    run.fields["hal"] = {"summary": http.summary, "checks": http.details}


def _unlock(run: _Run) -> None:
    timer = Timer("unlock")
    if run.blocked():
        run.checks.append(timer.result("skipped", "lock kept: the guardrail already failed"))
        run.fields["unlock_status"] = "kept"
        return
    released = release_lock(run.workspace, run.spec_id)
    reason = "lock released" if released else "no lock was held"
    run.checks.append(timer.result("passed", reason))
    run.fields["unlock_status"] = "unlocked"


def run_guardrail(
    workspace: Workspace,
    spec_id: str,
    stage: str,
    session_id: str,
    *,
    allow_dirty: bool = False,
    env: Mapping[str, str] | None = None,
    policy_ask: PolicyAsk | None = None,
    checks: Sequence[CheckResult] = (),
) -> GuardrailOutcome:
    """Run the stage's checks, write the record, log and evidence; never raises on a failed
    check (the outcome says), only on bad input (UsageError) or unreadable config.

    `checks` are made by the caller before the guardrail (the pipeline's `budget`) and are
    recorded first; a blocking failure among them keeps the lock from being taken."""
    stage_name = parse_stage(stage)
    check_spec_id(spec_id)
    check_session_id(session_id)
    workspace.check_writable(spec_id)  # before any check runs: a refusal leaves nothing
    out_dir = make_folder(workspace.evidence_root, workspace.evidence_root / "commands" / spec_id)
    policy_check, policy_block = run_policy(workspace.config, spec_id, stage_name, policy_ask)
    environment = os.environ if env is None else env
    run = _Run(workspace, spec_id, stage_name, session_id, out_dir, environment,
               policy_check, [*checks, policy_check], [], {})  # fmt: skip
    steps: dict[str, Callable[[], None]] = {
        # specify writes the SPEC's own spec.md: the plan stage's clean tree and baseline fit
        "specify": lambda: _plan(run, allow_dirty),
        "plan": lambda: _plan(run, allow_dirty),
        "tasks": lambda: _tasks(run),
        "implement": lambda: _implement(run),
        "validate": lambda: _validate_or_audit(run),
        "audit": lambda: _validate_or_audit(run),
        "unlock": lambda: _unlock(run),
    }
    steps[stage_name]()
    run.fields["policy"] = policy_block
    make_folder(workspace.evidence_root, out_dir)
    log = out_dir / guardrail_log_file(stage_name, session_id)
    run.artifacts.append(log)
    record = build_record(stage_name, spec_id, session_id, utc_timestamp(), run.checks,
                          [run.shown(p) for p in run.artifacts], run.fields)  # fmt: skip
    record_path = out_dir / guardrail_record_file(stage_name, session_id)
    write_together(
        lambda: write_log(log, spec_id, stage_name, session_id, run.checks),
        lambda: write_record(record_path, record),
    )
    return GuardrailOutcome(not run.blocked(), record_path, record, list(run.checks))
