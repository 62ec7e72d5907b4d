"""The answer cache through the real CLI: stage re-runs start no agent process (counted),
telemetry and metrics say so, `--no-cache` / `[cache] enabled = false` bypass it, a resumed
`auto` spends nothing again before its halt, and `speckit cache stats|clear`."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from speckit.telemetry.validate import validate_jsonl
from tests.conftest import CliRunner
from tests.pipeline.conftest import ScriptedWorkspace, make_scripted

AGENT_PROGRAM = Path(__file__).parent.parent / "cache_agent.py"
PROPOSERS = ("gemini", "claude", "gpt_codex")


def _roster(folder: Path) -> str:
    """The default stage lists' agents, each a counting `command` agent (tests/cache_agent.py)."""
    blocks = []
    for name in (*PROPOSERS, "gpt_pro"):
        command = [sys.executable, str(AGENT_PROGRAM), str(folder), name]
        role = "aggregator" if name == "gpt_pro" else "proposer"
        blocks.append(
            f'[agents.{name}]\ndriver = "command"\ncommand = {json.dumps(command)}\n'
            f'role = "{role}"\ntimeout = 30\n'
        )
    return "\n".join(blocks) + "\n"


@pytest.fixture
def counted(tmp_path: Path) -> tuple[ScriptedWorkspace, Path]:
    """A workspace whose agents count their calls in `folder/calls.log` (outside the tree)."""
    folder = tmp_path / "agents"
    folder.mkdir()
    scripted = make_scripted(tmp_path / "ws")
    scripted.configure(_roster(folder))
    scripted.commit()
    return scripted, folder


def calls(folder: Path) -> Counter[str]:
    """How many agent processes started, per "agent stage"."""
    log = folder / "calls.log"
    return Counter(log.read_text().splitlines() if log.exists() else [])


def telemetry(scripted: ScriptedWorkspace, stage: str) -> list[dict[str, Any]]:
    """Every run's telemetry line for `stage`, oldest first."""
    lines = []
    # by when each was written: two runs in one second are `<ts>` and `<ts>-2`, and "-"
    # sorts before "_", so the names alone would put the second run first
    paths = scripted.consensus_dir().glob(f"spec-{stage}_*_telemetry.jsonl")
    for path in sorted(paths, key=lambda p: p.stat().st_mtime_ns):
        assert validate_jsonl(path)[1] == [], path
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def set_cache(config: Path, *, enabled: bool) -> None:
    """`[cache] enabled` in speckit.toml (the template lists it)."""
    head, _, tail = config.read_text().partition("[cache]\n")
    old, new = ("true", "false") if not enabled else ("false", "true")
    config.write_text(head + "[cache]\n" + tail.replace(f"enabled = {old}", f"enabled = {new}", 1))


def run_ok(cli: CliRunner, scripted: ScriptedWorkspace, *args: str) -> str:
    result = cli("run", *args, scripted.spec_id, "--allow-dirty", cwd=scripted.root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stderr


def test_rerun_with_unchanged_inputs_starts_no_agent(
    cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]
) -> None:
    scripted, folder = counted
    run_ok(cli, scripted, "validate")
    assert sum(calls(folder).values()) == 3
    progress = run_ok(cli, scripted, "validate")
    assert sum(calls(folder).values()) == 3, "a cached answer started an agent"
    assert len(re.findall(r"answered in \d+\.\ds \(cached\)", progress)) == 3, progress
    first, second = telemetry(scripted, "validate")
    assert [a["cache_hit"] for a in first["consensus"]["agents"]] == [False] * 3
    assert [a["cache_hit"] for a in second["consensus"]["agents"]] == [True] * 3
    assert [a["cost_source"] for a in second["consensus"]["agents"]] == ["cached"] * 3
    assert second["consensus"]["total_cost_usd"] == 0
    assert second["consensus"]["total_tokens"] == 0  # nothing spent twice
    assert second["consensusStatus"] == first["consensusStatus"] == "ok"
    # the metrics file names the call the answer came from; both raw outputs are on disk
    metrics_path = next(scripted.consensus_dir().glob(f"spec-validate_{second['runId']}_claude_m*"))
    metrics = json.loads(metrics_path.read_text())
    assert metrics["cache_hit"] is True
    origin = scripted.root / metrics["cached_from"]
    assert first["runId"] in origin.name and origin.name.endswith("_claude_raw.txt")
    own_raw = metrics_path.with_name(metrics_path.name.replace("_metrics.json", "_raw.txt"))
    assert own_raw.read_bytes() == origin.read_bytes()
    stats = cli("cache", "stats", "--json", cwd=scripted.root)
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert (figures["entries"], figures["hits"], figures["misses"]) == (3, 3, 3)


def test_changing_spec_md_misses(cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]) -> None:
    scripted, folder = counted
    run_ok(cli, scripted, "validate")
    spec = next((scripted.root / "docs").glob(f"{scripted.spec_id}*/spec.md"))
    spec.write_text(spec.read_text() + "\nAlso lock the account after 10 failures.\n")
    progress = run_ok(cli, scripted, "validate")
    assert sum(calls(folder).values()) == 6, "the prompt changed: every agent asked again"
    assert "(cached)" not in progress
    assert [a["cache_hit"] for a in telemetry(scripted, "validate")[1]["consensus"]["agents"]] == [
        False
    ] * 3


def test_no_cache_and_cache_disabled_bypass_it(
    cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]
) -> None:
    scripted, folder = counted
    run_ok(cli, scripted, "validate")
    run_ok(cli, scripted, "validate", "--no-cache")
    assert sum(calls(folder).values()) == 6
    config = scripted.root / "speckit.toml"
    set_cache(config, enabled=False)
    run_ok(cli, scripted, "validate")
    assert sum(calls(folder).values()) == 9
    assert all(
        a["cache_hit"] is False
        for line in telemetry(scripted, "validate")
        for a in line["consensus"]["agents"]
    )
    set_cache(config, enabled=True)
    run_ok(cli, scripted, "validate")  # on again: the first run's answers are still there
    assert sum(calls(folder).values()) == 9


def test_plan_rerun_hits_once_its_own_document_is_written(
    cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]
) -> None:
    """plan's prompt shows plan.md: the second run sees the first's plan.md and is asked again;
    from then on plan.md's text is the same (its header names each run, and is no input)."""
    scripted, folder = counted
    for _ in range(3):
        run_ok(cli, scripted, "plan")
    assert sum(calls(folder).values()) == 6


def test_resumed_auto_respends_nothing_before_the_halt(
    cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]
) -> None:
    scripted, folder = counted
    (folder / "fail-claude-validate").touch()  # claude's quota runs out at validate
    halted = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert halted.returncode == 3, halted.stdout + halted.stderr
    assert "HALTED at validate" in halted.stdout
    before = calls(folder)
    assert before["claude validate"] == 1 and before["gemini plan"] == 1
    (folder / "fail-claude-validate").unlink()
    resumed = cli("auto", scripted.spec_id, cwd=scripted.root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = calls(folder)
    started_again = after - before
    assert not [c for c in started_again if c.split()[1] in ("plan", "tasks", "implement")]
    # in validate only what did not answer validly runs again: claude, and the aggregator
    # (its prompt holds claude's new proposal); gemini's answer is reused
    assert started_again["gemini validate"] == 0
    assert started_again["claude validate"] == 1 and started_again["gpt_pro validate"] == 1
    validate = telemetry(scripted, "validate")[-1]["consensus"]["agents"]
    assert {a["agent"]: a["cache_hit"] for a in validate} == {
        "gemini": True,
        "claude": False,
        "gpt_pro": False,
    }
    assert re.search(r"gemini answered in \d+\.\ds \(cached\)", resumed.stderr)


def test_cache_clear(cli: CliRunner, counted: tuple[ScriptedWorkspace, Path]) -> None:
    scripted, folder = counted
    run_ok(cli, scripted, "validate")
    kept = cli("cache", "clear", "--older-than", "7", cwd=scripted.root)
    assert kept.returncode == 0 and "removed 0 cached answer(s) older than 7 day(s)" in kept.stdout
    cleared = cli("cache", "clear", cwd=scripted.root)
    assert cleared.returncode == 0 and "removed 3 cached answer(s)" in cleared.stdout
    stats = cli("cache", "stats", cwd=scripted.root)
    assert "entries: 0" in stats.stdout and "hits:    0" in stats.stdout
    run_ok(cli, scripted, "validate")
    assert sum(calls(folder).values()) == 6
    bad = cli("cache", "clear", "--older-than", "-1", cwd=scripted.root)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "speckit: error: --older-than must be 0 or more days, got -1"
