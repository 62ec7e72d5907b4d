"""`speckit consensus check | override | rejudge` through the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from speckit.consensus.synthesis import synthesize
from speckit.evidence.jsonl import read_lines
from speckit.pipeline.bundle import BundlePaths, write_bundle
from speckit.telemetry.validate import validate_jsonl
from tests.conftest import ORIGIN, CliRunner
from tests.consensus.factory import STEPS, decision_answer, plan_answer, result

SPEC = "SPEC-KIT-010-limits"
AGENTS = ["gemini", "claude", "gpt_pro"]
ORIGIN_CONSENSUS = (
    ORIGIN / "docs" / "SPEC-OPS-004-integrated-coder-hooks" / "evidence" / "consensus"
)
KIT025 = ORIGIN_CONSENSUS / "SPEC-KIT-025-add-automated-conflict-resolution-with"


def _run(
    ws: Path, stage: str, decisions: list[str] | None, ts: str, drop: bool = False
) -> BundlePaths:
    if decisions is None:
        found = [result(a, plan_answer(STEPS)) for a in AGENTS]
    else:
        found = [result(a, decision_answer(d)) for a, d in zip(AGENTS, decisions, strict=True)]
    if drop:
        found[-1] = result("gpt_pro", status="missing", error="codex not installed")
    synthesis = synthesize(stage, SPEC, AGENTS, found)
    return write_bundle(
        ws / "evidence", SPEC, stage, ts, f"sess-{ts}", "v1", found, synthesis, None, True
    )


def test_check_exit_codes_follow_the_newest_verdict(cli: CliRunner, workspace: Path) -> None:
    assert cli("consensus", "check", SPEC, "plan", cwd=workspace).returncode == 64  # unknown SPEC
    _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    ok = cli("consensus", "check", SPEC, "plan", cwd=workspace)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"{SPEC} plan: ok  (evidence/consensus/{SPEC}/spec-plan_")
    _run(workspace, "plan", None, "2026-11-25T10:05:00Z", drop=True)
    degraded = cli("consensus", "check", SPEC, "spec-plan", cwd=workspace)
    assert degraded.returncode == 3
    assert "missing: gpt_pro (missing: codex not installed)" in degraded.stdout
    _run(workspace, "validate", ["approve", "reject", "approve"], "2026-11-25T10:06:00Z")
    conflict = cli("consensus", "check", SPEC, "validate", cwd=workspace)
    assert conflict.returncode == 2
    assert "decisions differ" in conflict.stdout
    missing = cli("consensus", "check", SPEC, "audit", cwd=workspace)
    assert missing.returncode == 1
    assert missing.stderr.startswith("speckit: error: no synthesis for audit of")
    bad_stage = cli("consensus", "check", SPEC, "deploy", cwd=workspace)
    assert bad_stage.returncode == 64 and "unknown stage 'deploy'" in bad_stage.stderr


def test_check_unreadable_synthesis_exits_1(cli: CliRunner, workspace: Path) -> None:
    paths = _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    paths.synthesis.write_text("{ not json")
    done = cli("consensus", "check", SPEC, "plan", cwd=workspace)
    assert done.returncode == 1 and "unreadable synthesis" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_override_is_recorded_and_honoured(cli: CliRunner, workspace: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
    subprocess.run(["git", "config", "user.name", "Ada Reviewer"], cwd=workspace, check=True)
    paths = _run(workspace, "plan", None, "2026-11-25T10:00:00Z", drop=True)
    assert cli("consensus", "check", SPEC, "plan", cwd=workspace).returncode == 3
    done = cli(
        "consensus",
        "override",
        SPEC,
        "plan",
        "--verdict",
        "ok",
        "--reason",
        "codex is not used in this project",
        cwd=workspace,
    )
    assert done.returncode == 0, done.stderr
    assert f"recorded  {SPEC} plan: ok (was degraded) by Ada Reviewer" in done.stdout
    check = cli("consensus", "check", SPEC, "plan", cwd=workspace)
    assert check.returncode == 0
    assert "human override by Ada Reviewer" in check.stdout
    assert "codex is not used in this project (verdict was degraded)" in check.stdout
    evidence = json.loads(
        paths.synthesis.with_name(paths.synthesis.name.replace("synthesis", "override")).read_text()
    )
    assert evidence["override"]["who"] == "Ada Reviewer"
    assert evidence["override"]["synthesis"] == paths.synthesis.name
    assert paths.telemetry is not None
    lines = read_lines(paths.telemetry)
    assert [line.record["event"] for line in lines if line.record] == ["stage", "override"]
    assert validate_jsonl(paths.telemetry)[1] == []
    # a second override keeps the first in the history
    again = cli(
        "consensus",
        "override",
        SPEC,
        "plan",
        "--verdict",
        "conflict",
        "--reason",
        "no",
        cwd=workspace,
    )
    assert "(was ok)" in again.stdout
    assert cli("consensus", "check", SPEC, "plan", cwd=workspace).returncode == 2
    # a new run supersedes the override
    _run(workspace, "plan", None, "2026-11-25T11:00:00Z", drop=True)
    assert cli("consensus", "check", SPEC, "plan", cwd=workspace).returncode == 3


def test_override_without_git_user_falls_back_to_user(cli: CliRunner, workspace: Path) -> None:
    _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    done = cli(
        "consensus",
        "override",
        SPEC,
        "plan",
        "--verdict",
        "degraded",
        "--reason",
        "x",
        cwd=workspace,
        env={"USER": "tester", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "by tester" in done.stdout


def test_override_refuses_bad_input(cli: CliRunner, workspace: Path) -> None:
    _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    bad_verdict = cli(
        "consensus", "override", SPEC, "plan", "--verdict", "great", "--reason", "x", cwd=workspace
    )
    assert bad_verdict.returncode == 64
    empty = cli(
        "consensus", "override", SPEC, "plan", "--verdict", "ok", "--reason", "  ", cwd=workspace
    )
    assert empty.returncode == 64 and "--reason" in empty.stderr
    none = cli(
        "consensus", "override", SPEC, "tasks", "--verdict", "ok", "--reason", "x", cwd=workspace
    )
    assert none.returncode == 1


def test_telemetry_off_for_override(cli: CliRunner, workspace: Path) -> None:
    paths = _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    done = cli(
        "consensus",
        "override",
        SPEC,
        "plan",
        "--verdict",
        "ok",
        "--reason",
        "x",
        cwd=workspace,
        env={"SPEC_KIT_TELEMETRY_ENABLED": "0"},
    )
    assert done.returncode == 0 and "telemetry off" in done.stdout
    assert paths.telemetry is not None and len(read_lines(paths.telemetry)) == 1


@pytest.mark.shared(ORIGIN_CONSENSUS)
def test_rejudge_origin_kit025_plan_is_degraded(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / KIT025.name
    folder.mkdir()
    for path in KIT025.glob("spec-plan_*"):
        shutil.copy(path, folder)
    done = cli("consensus", "rejudge", str(folder))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        f"{KIT025.name} spec-plan 2025-10-06T00:19:45Z: degraded  "
        "(recorded: ok; unexpanded placeholders"
    )
    assert lines[0].endswith("← differs")
    assert "  missing: claude (failed: agent execution failed)" in lines
    assert "  missing: gemini (failed: agent execution failed)" in lines
    assert not any(line.startswith("  conflict:") for line in lines)


@pytest.mark.shared(ORIGIN_CONSENSUS)
def test_rejudge_judges_every_origin_bundle(cli: CliRunner) -> None:
    done = cli("consensus", "rejudge", str(ORIGIN_CONSENSUS), "--json")
    assert done.returncode == 0, done.stderr
    verdicts = json.loads(done.stdout)
    keys = {(Path(v["folder"]).name[:13], v["stage"], v["key"]): v["status"] for v in verdicts}
    assert len(verdicts) == 9
    assert keys[("SPEC-KIT-025-", "plan", "2025-10-06T00:19:45Z")] == "degraded"
    assert keys[("SPEC-KIT-DEMO", "plan", "2025-10-05T01:21:02Z")] == "degraded"
    stub_run = next(v for v in verdicts if v["key"] == "2025-10-05T04:31:14Z")
    assert stub_run["status"] == "degraded"  # the stub answers carry no work_breakdown
    assert {m["status"] for m in stub_run["missing_agents"]} == {"invalid"}


def test_rejudge_of_speckit_bundles_matches_their_verdicts(cli: CliRunner, workspace: Path) -> None:
    _run(workspace, "plan", None, "2026-11-25T10:00:00Z")
    _run(workspace, "plan", None, "2026-11-25T10:05:00Z", drop=True)
    paths = _run(workspace, "validate", ["approve", "reject", "approve"], "2026-11-25T10:06:00Z")
    for raw in ("claude_raw.json", "claude_raw.txt", "gemini_raw.jsonl"):  # driver output: ignored
        (paths.folder / f"spec-validate_{paths.key}_{raw}").write_text("not json")
    done = cli("consensus", "rejudge", str(workspace / "evidence" / "consensus"), "--json")
    verdicts = json.loads(done.stdout)
    assert [(v["stage"], v["status"], v["recorded_status"]) for v in verdicts] == [
        ("plan", "ok", "ok"),
        ("plan", "degraded", "degraded"),
        ("validate", "conflict", "conflict"),
    ]


def test_rejudge_empty_folder_is_an_error(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("consensus", "rejudge", str(tmp_path))
    assert done.returncode == 1 and "no evidence bundles" in done.stderr


def test_help_lists_exit_codes(cli: CliRunner) -> None:
    done = cli("consensus", "check", "--help")
    assert done.returncode == 0
    assert "0 ok, 2 conflict, 3 degraded, 1 no synthesis" in done.stdout
