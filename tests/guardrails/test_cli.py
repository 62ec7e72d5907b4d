"""`speckit guardrail STAGE SPEC` through the real CLI: exit codes and messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import CliRunner
from tests.guardrails.conftest import Repo
from tests.guardrails.helpers import LoopbackServer, set_http_checks

CLEAN_ENV = {"SPEC_OPS_ALLOW_DIRTY": "0", "SPEC_OPS_HAL_SKIP": "0"}


def test_passing_guardrail_exits_0_and_prints_the_record(cli: CliRunner, repo: Repo) -> None:
    done = cli("guardrail", "plan", repo.spec_id, cwd=repo.root, env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr
    record = Path(done.stdout.strip())
    assert record.parent == repo.root / "evidence" / "commands" / repo.spec_id
    assert json.loads(record.read_text())["command"] == "spec-ops-plan"
    assert "passed   clean-tree" in done.stderr


def test_spec_prefix_and_stage_alias_are_accepted(cli: CliRunner, repo: Repo) -> None:
    prefix = "-".join(repo.spec_id.split("-")[:3])  # SPEC-KIT-005
    done = cli("guardrail", "spec-tasks", prefix, cwd=repo.root, env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).name.startswith("spec-tasks_")


def test_dirty_tree_exits_4_naming_the_check(cli: CliRunner, repo: Repo) -> None:
    (repo.root / "memory" / "constitution.md").write_text("edited\n")
    done = cli("guardrail", "plan", repo.spec_id, cwd=repo.root, env=CLEAN_ENV)
    assert done.returncode == 4
    failures = [line for line in done.stderr.splitlines() if "guardrail failed" in line]
    assert failures == [
        "speckit: guardrail failed: clean-tree: 1 modified or staged tracked file(s): "
        "memory/constitution.md; commit or stash them, or pass --allow-dirty "
        "(SPEC_OPS_ALLOW_DIRTY=1)"
    ]
    assert Path(done.stdout.strip()).is_file()  # the failed run is evidence too


def test_dirty_tree_allowed_by_flag_and_env(cli: CliRunner, repo: Repo) -> None:
    (repo.root / "memory" / "constitution.md").write_text("edited\n")
    flag = cli("guardrail", "plan", repo.spec_id, "--allow-dirty", cwd=repo.root, env=CLEAN_ENV)
    assert flag.returncode == 0, flag.stderr
    env = cli("guardrail", "plan", repo.spec_id, cwd=repo.root,
              env={**CLEAN_ENV, "SPEC_OPS_ALLOW_DIRTY": "1"})  # fmt: skip
    assert env.returncode == 0, env.stderr
    assert "allowed by SPEC_OPS_ALLOW_DIRTY=1" in env.stderr


def test_json_output(cli: CliRunner, repo: Repo) -> None:
    (repo.root / "docs" / repo.spec_id / "plan.md").unlink()
    done = cli("guardrail", "plan", repo.spec_id, "--json", cwd=repo.root,
               env={**CLEAN_ENV, "SPEC_OPS_ALLOW_DIRTY": "1"})  # fmt: skip
    assert done.returncode == 4
    data = json.loads(done.stdout)
    assert data["passed"] is False
    assert data["record"]["baseline"]["status"] == "failed"
    assert Path(data["record_path"]).is_file()


def test_http_failure_and_skip_through_the_cli(
    cli: CliRunner, repo: Repo, server: LoopbackServer
) -> None:
    set_http_checks(repo.root, [
        {"name": "health", "url": f"{server.base_url}/health",
         "header": "X-Api-Key", "header_env": "HAL_CLI_SECRET"},
    ])  # fmt: skip
    env = {**CLEAN_ENV, "HAL_CLI_SECRET": ""}
    missing = cli("guardrail", "validate", repo.spec_id, cwd=repo.root, env=env)
    assert missing.returncode == 4
    assert "guardrail failed: http:health: secret HAL_CLI_SECRET is not set" in missing.stderr
    env["HAL_CLI_SECRET"] = "token-123"
    healthy = cli("guardrail", "audit", repo.spec_id, cwd=repo.root, env=env)
    assert healthy.returncode == 0, healthy.stderr
    skipped = cli("guardrail", "validate", repo.spec_id, cwd=repo.root,
                  env={**env, "SPEC_OPS_HAL_SKIP": "1"})  # fmt: skip
    assert skipped.returncode == 0
    assert "skipped  http: SPEC_OPS_HAL_SKIP=1" in skipped.stderr
    assert len(server.requests) == 1


def test_lock_held_by_another_live_process(cli: CliRunner, repo: Repo) -> None:
    from speckit.guardrails import acquire_lock

    # this test process holds the lock, so the CLI (another process) must be refused
    assert acquire_lock(repo.ws, repo.spec_id, "mine").acquired
    refused = cli("guardrail", "implement", repo.spec_id, cwd=repo.root, env=CLEAN_ENV)
    assert refused.returncode == 4
    assert f"guardrail failed: lock: {repo.spec_id} is locked by pid {os.getpid()}" in (
        refused.stderr
    )
    assert cli("guardrail", "unlock", repo.spec_id, cwd=repo.root, env=CLEAN_ENV).returncode == 0
    taken = cli("guardrail", "implement", repo.spec_id, cwd=repo.root, env=CLEAN_ENV)
    assert taken.returncode == 0, taken.stderr


def test_bad_arguments_exit_64(cli: CliRunner, repo: Repo) -> None:
    stage = cli("guardrail", "deploy", repo.spec_id, cwd=repo.root)
    assert stage.returncode == 64 and "unknown stage 'deploy'" in stage.stderr
    spec = cli("guardrail", "plan", "../etc", cwd=repo.root)
    assert spec.returncode == 64 and "is not a SPEC id" in spec.stderr
    unknown = cli("guardrail", "plan", "SPEC-KIT-999", cwd=repo.root)
    assert unknown.returncode == 64 and "no SPEC SPEC-KIT-999" in unknown.stderr
    for done in (stage, spec, unknown):
        assert "Traceback" not in done.stderr
