"""The answer cache at the runner: real `command` agents (processes counted), real files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from speckit.agents import cache as answer_cache
from speckit.agents.cache import cache_key, cache_stats, clear_cache
from speckit.agents.request import AgentRequest
from speckit.agents.runner import run_agent, run_stage_agents_sync
from speckit.answers.schemas import stage_schema
from tests.agents.conftest import make_agent, run

AGENT_PROGRAM = Path(__file__).parent.parent / "cache_agent.py"


def agent_request(
    tmp_path: Path,
    name: str = "counter",
    *,
    key: str = "run1",
    cache: bool = True,
    **fields: object,
) -> AgentRequest:
    """A plan-stage call of a counting command agent, its raw output named by run `key`."""
    agent_fields = {"command": [sys.executable, str(AGENT_PROGRAM), str(tmp_path), name]}
    agent_fields.update({k: v for k, v in fields.items() if k in ("model", "args", "env")})
    agent = make_agent(name, "command", timeout=30, **agent_fields)
    return AgentRequest(
        agent=agent,
        prompt=str(fields.get("prompt", "Plan the rate limiter. Prompt version: v1.")),
        workdir=tmp_path,
        raw_output_path=tmp_path / "evidence" / f"spec-plan_{key}_{name}_raw.txt",
        stage="plan",
        schema=stage_schema("plan"),
        writes=bool(fields.get("writes", False)),
        cache_dir=tmp_path / ".speckit" / "cache" if cache else None,
    )


def calls(tmp_path: Path) -> int:
    log = tmp_path / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / ".speckit" / "cache").glob("??/*.entry"))


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    answer_cache._warned.clear()  # the once-per-process warning: once per test here


def test_identical_call_reuses_the_answer_without_starting_the_agent(tmp_path: Path) -> None:
    first = run(run_agent(agent_request(tmp_path, key="run1")))
    assert first.status == "ok" and first.cached_from is None
    assert first.cost_source == "unknown"  # a command agent reports no usage
    second = run(run_agent(agent_request(tmp_path, key="run2")))
    assert calls(tmp_path) == 1  # no second process
    assert second.status == "ok" and second.parsed == first.parsed
    assert (second.cost_usd, second.cost_source) == (0.0, "cached")
    assert second.cached_from == "evidence/spec-plan_run1_counter_raw.txt"  # names its run
    assert (second.usage.input_tokens, second.usage.output_tokens) == (0, 0)  # nothing spent
    # the evidence stays complete: this run's raw output holds the cached raw text
    raw = tmp_path / "evidence" / "spec-plan_run2_counter_raw.txt"
    assert second.raw_output_path == str(raw)
    assert (
        raw.read_bytes() == (tmp_path / "evidence" / "spec-plan_run1_counter_raw.txt").read_bytes()
    )
    assert len(entries(tmp_path)) == 1


def test_origin_usage_and_cost_are_kept_for_information(tmp_path: Path) -> None:
    """A priced origin (scripted, with usage): the hit costs 0 and says what it saved."""
    script = tmp_path / "agents.toml"
    script.write_text(
        textwrap.dedent("""
        [stages.plan.default]
        answer = { final_plan = { work_breakdown = ["one"] } }
        usage = { input_tokens = 1000, output_tokens = 200 }
        """)
    )
    agent = make_agent("claude", "scripted", script=str(script), model="claude-sonnet-4-5")

    def request(key: str) -> AgentRequest:
        return AgentRequest(
            agent=agent,
            prompt="Plan it.",
            workdir=tmp_path,
            raw_output_path=tmp_path / "evidence" / f"{key}_claude_raw.txt",
            stage="plan",
            schema=stage_schema("plan"),
            cache_dir=tmp_path / ".speckit" / "cache",
        )

    origin = run(run_agent(request("a")))
    assert origin.cost_source == "priced" and origin.cost_usd
    hit = run(run_agent(request("b")))
    assert hit.cost_source == "cached" and hit.cost_usd == 0.0
    assert hit.saved_usd == origin.cost_usd
    assert hit.cached_usage == origin.usage
    stats = cache_stats(tmp_path / ".speckit" / "cache")
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
    assert stats.saved_usd == pytest.approx(origin.cost_usd)
    # the script decides the answer: editing it is a new agent, asked again
    script.write_text(script.read_text().replace('"one"', '"two"'))
    again = run(run_agent(request("c")))
    assert again.cached_from is None and again.parsed == {"final_plan": {"work_breakdown": ["two"]}}


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "Plan the rate limiter. Prompt version: v2."},
        {"model": "other-model"},
        {"args": ["--fast"]},
        {"env": {"TEMPERATURE": "0.9"}},
    ],
    ids=["prompt", "model", "args", "env"],
)
def test_any_input_that_decides_the_answer_changes_the_key(
    tmp_path: Path, change: dict[str, object]
) -> None:
    base = agent_request(tmp_path)
    assert cache_key(base) == cache_key(agent_request(tmp_path, key="other-run"))  # raw path: no
    changed = agent_request(tmp_path, **change)
    assert cache_key(changed) != cache_key(base)
    run(run_agent(base))
    result = run(run_agent(agent_request(tmp_path, key="run2", **change)))
    assert result.cached_from is None and calls(tmp_path) == 2


def test_run_overrides_and_the_agent_name_are_inputs(tmp_path: Path) -> None:
    base = agent_request(tmp_path)
    overridden = agent_request(tmp_path)
    overridden.env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:1"}
    assert cache_key(overridden) != cache_key(base)
    # two agents of one panel never share an answer, even with the same prompt and program
    assert cache_key(agent_request(tmp_path, name="twin")) != cache_key(base)


def test_the_header_of_a_generated_document_is_not_an_input(tmp_path: Path) -> None:
    """plan's prompt shows plan.md, whose header names the run that wrote it."""
    header = "<!-- speckit: written from the plan stage's consensus.\nrun: {run}\nsha256: x -->"
    one = agent_request(tmp_path, prompt=header.format(run="2026-01-01T00:00:00Z") + "\n# Plan")
    two = agent_request(tmp_path, prompt=header.format(run="2026-01-02T00:00:00Z") + "\n# Plan")
    other_body = agent_request(tmp_path, prompt=header.format(run="x") + "\n# Another plan")
    assert cache_key(one) == cache_key(two) != cache_key(other_body)


@pytest.mark.parametrize("marker", ["fail-counter", "invalid-counter", "wrong-counter"])
def test_failed_or_invalid_answers_are_never_cached(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).touch()
    first = run(run_agent(agent_request(tmp_path)))
    assert first.status in ("failed", "invalid", "ok")
    second = run(run_agent(agent_request(tmp_path, key="run2")))
    assert second.cached_from is None and calls(tmp_path) == 2
    assert entries(tmp_path) == []
    (tmp_path / marker).unlink()  # it answers properly now: that answer is kept
    run(run_agent(agent_request(tmp_path, key="run3")))
    assert run(run_agent(agent_request(tmp_path, key="run4"))).cost_source == "cached"
    assert calls(tmp_path) == 3


def test_timed_out_answers_are_never_cached(tmp_path: Path) -> None:
    (tmp_path / "delay").write_text("5")
    request = agent_request(tmp_path)
    request.agent.timeout = 0.5
    assert run(run_agent(request)).status == "timeout"
    assert entries(tmp_path) == []


def test_requests_that_write_and_runs_without_a_cache_are_not_cached(tmp_path: Path) -> None:
    for key in ("a", "b"):
        assert run(run_agent(agent_request(tmp_path, key=key, writes=True))).cached_from is None
    assert calls(tmp_path) == 2 and entries(tmp_path) == []
    run(run_agent(agent_request(tmp_path, key="c")))  # kept
    result = run(run_agent(agent_request(tmp_path, key="d", cache=False)))  # --no-cache
    assert result.cached_from is None and calls(tmp_path) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn
        lambda data: b"not json at all\n" + data,  # garbage in front
        lambda data: data.replace(b"Add limiter", b"Add limitor"),  # raw edited: sha256 differs
        lambda data: b"",  # empty
    ],
    ids=["torn", "garbage", "edited", "empty"],
)
def test_a_corrupt_entry_is_a_miss_and_is_replaced(tmp_path: Path, damage: object) -> None:
    run(run_agent(agent_request(tmp_path)))
    [entry] = entries(tmp_path)
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    result = run(run_agent(agent_request(tmp_path, key="run2")))
    assert result.status == "ok" and result.cached_from is None and calls(tmp_path) == 2
    assert run(run_agent(agent_request(tmp_path, key="run3"))).cost_source == "cached"
    assert calls(tmp_path) == 2


def test_an_unreadable_entry_folder_is_a_miss(tmp_path: Path) -> None:
    run(run_agent(agent_request(tmp_path)))
    [entry] = entries(tmp_path)
    entry.unlink()
    entry.mkdir()  # a folder where the entry file should be: unreadable, never an error
    result = run(run_agent(agent_request(tmp_path, key="run2")))
    assert result.status == "ok" and result.cached_from is None


def _break_cache_folder(tmp_path: Path, how: str) -> None:
    folder = tmp_path / ".speckit" / "cache"
    if how == "file":  # a file where the folder should be: nothing can be written below it
        folder.parent.mkdir(parents=True)
        folder.write_text("not a folder")
        return
    folder.mkdir(parents=True)
    folder.chmod(0o555)


@pytest.mark.parametrize("how", ["file", "read-only"])
def test_an_unwritable_cache_folder_warns_once_and_the_run_goes_on(
    tmp_path: Path, how: str, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    if how == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder anyway")
    _break_cache_folder(tmp_path, how)
    try:
        for key in ("run1", "run2"):
            requests = [agent_request(tmp_path, name=n, key=key) for n in ("a1", "a2", "a3")]
            results = run_stage_agents_sync(requests)
            assert [r.status for r in results] == ["ok"] * 3
            assert all(r.cached_from is None for r in results)
    finally:
        if how == "read-only":
            (tmp_path / ".speckit" / "cache").chmod(0o755)
    assert calls(tmp_path) == 6  # uncached: every call ran
    warnings = [line for line in capfd.readouterr().err.splitlines() if "answer cache" in line]
    assert len(warnings) == 1, warnings
    assert "not writable" in warnings[0] and ".speckit/cache" in warnings[0]


CONCURRENT = """
import asyncio, sys
sys.path[:0] = [{src!r}, {root!r}]
from pathlib import Path
from speckit.agents.runner import run_agent
from tests.agents.test_cache import agent_request
result = asyncio.run(run_agent(agent_request(Path({tmp!r}), key=sys.argv[1])))
print(result.status, result.cost_source)
"""


def test_two_concurrent_identical_runs_leave_one_valid_entry(tmp_path: Path) -> None:
    """Two processes miss together (the agent takes 1 s), both store: one whole entry."""
    (tmp_path / "delay").write_text("1")
    repo = Path(__file__).parent.parent.parent
    code = CONCURRENT.format(src=str(repo / "src"), root=str(repo), tmp=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", code, key], stdout=subprocess.PIPE, text=True)
        for key in ("p1", "p2")
    ]
    outputs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert outputs == ["ok unknown", "ok unknown"]
    assert calls(tmp_path) == 2
    folder = tmp_path / ".speckit" / "cache"
    assert len(entries(tmp_path)) == 1
    assert not list(folder.glob("??/.*.tmp"))  # no temp file left behind
    (tmp_path / "delay").unlink()
    hit = run(run_agent(agent_request(tmp_path, key="p3")))
    assert hit.cost_source == "cached" and hit.cached_from in (
        "evidence/spec-plan_p1_counter_raw.txt",
        "evidence/spec-plan_p2_counter_raw.txt",
    )
    lookups = [json.loads(line) for line in (folder / "lookups.jsonl").read_text().splitlines()]
    assert [line["hit"] for line in lookups] == [False, False, True]


def test_clear_removes_entries_and_counters(tmp_path: Path) -> None:
    folder = tmp_path / ".speckit" / "cache"
    run(run_agent(agent_request(tmp_path)))
    run(run_agent(agent_request(tmp_path, key="run2")))
    assert clear_cache(folder, older_than_days=1) == 0  # written just now: kept
    assert cache_stats(folder).entries == 1
    assert clear_cache(folder) == 1
    stats = cache_stats(folder)
    assert (stats.entries, stats.hits, stats.misses) == (0, 0, 0)
    assert run(run_agent(agent_request(tmp_path, key="run3"))).cached_from is None


def test_an_edited_agent_program_is_a_new_agent(tmp_path: Path) -> None:
    """The content of files the agent's command names is an input: an edited script misses."""
    program = tmp_path / "my_agent.py"
    program.write_text(AGENT_PROGRAM.read_text())
    request = agent_request(tmp_path)
    request.agent.command = [sys.executable, str(program), str(tmp_path), "counter"]
    before = cache_key(request)
    assert cache_key(request) == before
    program.write_text(AGENT_PROGRAM.read_text() + "\n# tuned\n")
    assert cache_key(request) != before


def test_progress_line_and_tui_row_say_cached(tmp_path: Path) -> None:
    from speckit.tui.render import LiveAgent, live_table, to_plain

    run(run_agent(agent_request(tmp_path)))
    hit = run(run_agent(agent_request(tmp_path, key="run2")))
    row = LiveAgent("counter", state="done", started=1.0, finished=1.0, result=hit)
    assert "• done: answered in 0.0s (cached)" in to_plain(live_table([row], now=1.0))
