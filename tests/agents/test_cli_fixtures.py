"""Every captured CLI fixture, replayed by a fake executable, read into the right AgentResult."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from speckit.agents.gemini_cli import INSTRUCTION
from speckit.agents.runner import run_agent
from speckit.config import PriceOverride
from tests.agents.conftest import make_agent, make_request, run
from tests.conftest import AGENT_CLI_FIXTURES
from tests.fakes import CASES, FakeCase, read_calls, set_case

NO_USAGE = (None, None, None, None, None)


@dataclass(frozen=True)
class Expect:
    status: str
    text: str | None = None  # exact answer text (None: not checked)
    usage: tuple[int | None, ...] | None = None  # input, output, reasoning, cache read, cache write
    cost: float | None = None
    cost_source: str | None = None
    error: tuple[str, ...] = ()  # substrings of the error line
    exit_code: int | None = None
    model: str | None = None


OK = '{"ok": true}'
# Input counts every token the model read: claude's 123 fresh + 7 cache read + 11 cache write.
CLAUDE_USAGE = (141, 45, 0, 7, 11)
TIMEOUT = ("timed out after 0.5s", "process group killed")
# A tool that printed nothing before the time box ended (claude retrying a 401 says nothing).
SILENT = (*TIMEOUT, "it printed nothing (it may have been retrying a failing API call)")
# A tool whose output before the time box was only start-up noise (no progress, no error).
QUIET = (*TIMEOUT, "it printed no message (it may have been retrying a failing API call)")
# The edit runs: the fake answered two model calls (a write tool call, then this text), so the
# usage is the fixed fake numbers twice. Whether the edit was allowed does not change the reading
# of a stage that expects only an answer: the answer text is the same either way.
EDITED = '{"checklist":["wrote hello.py"]}'
CLAUDE_EDIT = Expect(
    "ok", EDITED, (282, 90, None, 14, 22), 0.0036245000000000006, "reported", (), 0
)
CODEX_EDIT = Expect("ok", EDITED, (246, 90, 6, 14, 0), None, None, (), 0)
GEMINI_EDIT = Expect("ok", EDITED, (369, 135, 9, 21, None), None, None, (), 0, "gemini-3.8-flash")
GEMINI_EDIT_STREAM = Expect(
    "ok", EDITED, (369, 135, None, 21, None), None, None, (), 0, "gemini-3.8-flash"
)

EXPECTED: dict[tuple[str, str], Expect] = {
    ("claude", "edit-success"): CLAUDE_EDIT,
    ("claude", "edit-success-stream"): CLAUDE_EDIT,
    ("claude", "edit-denied"): CLAUDE_EDIT,
    ("claude", "edit-denied-stream"): CLAUDE_EDIT,
    ("codex", "edit-success"): CODEX_EDIT,
    ("codex", "edit-denied"): CODEX_EDIT,
    ("gemini", "edit-success"): GEMINI_EDIT,
    ("gemini", "edit-success-stream"): GEMINI_EDIT_STREAM,
    ("gemini", "edit-denied"): GEMINI_EDIT,
    ("gemini", "edit-denied-stream"): GEMINI_EDIT_STREAM,
    ("claude", "success"): Expect(
        "ok", OK, CLAUDE_USAGE, 0.0014483999999999999, "reported", (), 0, "claude-opus-5-5"
    ),
    ("claude", "success-stream"): Expect(
        "ok", OK, CLAUDE_USAGE, 0.0014483999999999999, "reported", (), 0, "claude-opus-5-5"
    ),
    ("claude", "success-v2.1.197"): Expect(
        "ok",
        OK,
        (141, 45, None, 7, 11),
        0.0018122500000000003,
        "reported",
        (),
        0,
        "claude-opus-4-8",
    ),
    ("claude", "success-v2.1.197-stream"): Expect(
        "ok", OK, (141, 45, None, 7, 11), 0.0018122500000000003, "reported", (), 0
    ),
    ("claude", "success-text"): Expect("ok", OK + "\n", NO_USAGE, None, "unknown", (), 0),
    ("claude", "http-401"): Expect(
        "failed",
        None,
        (0, 0, 0, 0, 0),
        0.0,
        "reported",
        ("claude: HTTP 401 authentication_error", "Invalid API key"),
        1,
    ),
    ("claude", "http-401-stream"): Expect(
        "failed", None, None, 0.0, "reported", ("HTTP 401", "Invalid API key"), 1
    ),
    ("claude", "http-500"): Expect(
        "failed",
        None,
        None,
        0.0,
        "reported",
        ("claude: HTTP 500 api_error", "Internal server error"),
        1,
    ),
    ("claude", "http-500-stream"): Expect("failed", None, None, 0.0, "reported", ("HTTP 500",), 1),
    ("claude", "no-credentials"): Expect(
        "failed", None, None, 0.0, "reported", ("claude: Not logged in",), 1
    ),
    ("claude", "no-credentials-stream"): Expect(
        "failed", None, None, 0.0, "reported", ("Not logged in",), 1
    ),
    ("claude", "killed-by-timeout"): Expect("timeout", "", NO_USAGE, None, "unknown", SILENT),
    ("claude", "killed-by-timeout-stream"): Expect(
        "timeout", None, NO_USAGE, None, "unknown", QUIET
    ),
    ("codex", "success"): Expect("ok", OK, (123, 45, 3, 7, 0), None, "unknown", (), 0),
    ("codex", "success-text"): Expect(
        "ok", OK + "\n", NO_USAGE, None, "unknown", (), 0, "gpt-6.1-sol"
    ),
    ("codex", "http-401"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("codex: turn failed (exit 1)", "401 Unauthorized", "Incorrect API key"),
        1,
    ),
    ("codex", "http-500"): Expect(
        "failed", "", NO_USAGE, None, "unknown", ("codex: turn failed", "high demand"), 1
    ),
    ("codex", "http-500-default-retries"): Expect(
        "failed", "", NO_USAGE, None, "unknown", ("high demand",), 1
    ),
    ("codex", "missing-env-key"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("Missing environment variable", "FAKE_OPENAI_API_KEY"),
        1,
    ),
    ("codex", "killed-by-timeout"): Expect("timeout", None, NO_USAGE, None, "unknown", QUIET),
    ("codex", "offline-default-provider"): Expect(
        "timeout", None, NO_USAGE, None, "unknown", (*TIMEOUT, "waiting for network")
    ),
    ("gemini", "success"): Expect(
        "ok", OK, (246, 90, 6, 14, None), None, None, (), 0, "gemini-3.8-flash"
    ),
    ("gemini", "success-stream"): Expect(
        "ok", OK, (246, 90, None, 14, None), None, None, (), 0, "gemini-3.8-flash"
    ),
    ("gemini", "success-text"): Expect("ok", OK + "\n", NO_USAGE, None, "unknown", (), 0),
    ("gemini", "http-401"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("gemini: HTTP 401 (exit 145)", "API key not valid"),
        145,
    ),
    ("gemini", "http-401-stream"): Expect(
        "failed", "", None, None, None, ("gemini: HTTP 401 (exit 145)", "API key not valid"), 145
    ),
    ("gemini", "http-500"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("gemini: HTTP 500 (exit 244)", "Internal error"),
        244,
    ),
    ("gemini", "http-500-stream"): Expect(
        "failed", "", None, None, None, ("HTTP 500 (exit 244)", "Internal error"), 244
    ),
    ("gemini", "router-retries"): Expect(
        "timeout", "", NO_USAGE, None, "unknown", (*TIMEOUT, "Attempt 4 failed with status 500")
    ),
    ("gemini", "router-retries-stream"): Expect(
        "timeout", None, NO_USAGE, None, "unknown", (*TIMEOUT, "Attempt 4 failed")
    ),
    ("gemini", "invalid-auth-method"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("gemini: authentication failed (exit 41)", "Invalid auth method selected."),
        41,
    ),
    ("gemini", "killed-by-timeout"): Expect("timeout", "", NO_USAGE, None, "unknown", QUIET),
    ("gemini", "killed-by-timeout-stream"): Expect(
        "timeout", None, NO_USAGE, None, "unknown", QUIET
    ),
    ("gemini", "missing-api-key"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("authentication failed (exit 41)", "must specify the GEMINI_API_KEY"),
        41,
    ),
    ("gemini", "no-credentials"): Expect(
        "failed", "", NO_USAGE, None, "unknown", ("exit 41", "Please set an Auth method"), 41
    ),
    ("gemini", "untrusted-workspace"): Expect(
        "failed",
        "",
        NO_USAGE,
        None,
        "unknown",
        ("gemini: workspace folder not trusted (exit 55)", "GEMINI_CLI_TRUST_WORKSPACE=true"),
        55,
    ),
}


@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_every_fixture_case_has_an_expectation() -> None:
    cases = {(cli, name) for cli, names in CASES.items() for name in names}
    assert cases == set(EXPECTED)
    used = {
        Path(path).name
        for names in CASES.values()
        for case in names.values()
        for path in (case.stdout, case.stderr)
        if path
    }
    on_disk = {p.name for p in AGENT_CLI_FIXTURES.glob("*/*") if p.is_file()}
    assert on_disk == used, "a fixture file is not replayed by any fake case"


@pytest.mark.parametrize(("cli", "case"), sorted(EXPECTED))
def test_fixture_is_read_into_the_right_result(
    cli: str, case: str, fake_bin: Path, tmp_path: Path
) -> None:
    set_case(fake_bin, cli, case)
    expect = EXPECTED[(cli, case)]
    request = make_request(make_agent(cli, timeout=0.5), tmp_path)
    result = run(run_agent(request))

    assert result.status == expect.status, result.error
    assert result.agent == cli
    if expect.text is not None:
        assert result.text == expect.text
    if expect.status == "ok":
        assert result.parsed == json.loads(expect.text or OK)
        assert result.error is None
    else:
        assert result.parsed is None
        assert result.error is not None and "\n" not in result.error
        for part in expect.error:
            assert part in result.error
    usage = result.usage
    got = (
        usage.input_tokens,
        usage.output_tokens,
        usage.reasoning_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
    )
    if expect.usage is not None:
        assert got == expect.usage
    if expect.cost_source is not None:
        assert result.cost_source == expect.cost_source
        assert result.cost_usd == expect.cost
    if expect.exit_code is not None:
        assert result.exit_code == expect.exit_code
    if expect.status == "timeout":  # speckit killed it: the tool's own exit code means nothing
        assert result.exit_code is None
    if expect.model is not None:
        assert result.model == expect.model


@pytest.mark.parametrize("cli", ["claude", "gemini", "codex"])
@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_raw_stdout_is_kept_byte_for_byte(cli: str, fake_bin: Path, tmp_path: Path) -> None:
    request = make_request(make_agent(cli), tmp_path)
    result = run(run_agent(request))
    fixture = AGENT_CLI_FIXTURES / (CASES[cli]["success"].stdout or "")
    assert result.raw_output_path == str(request.raw_output_path)
    assert request.raw_output_path.read_bytes() == fixture.read_bytes()


def test_gemini_error_json_from_stderr_is_kept_next_to_stdout(
    fake_bin: Path, tmp_path: Path
) -> None:
    set_case(fake_bin, "gemini", "http-401")
    request = make_request(make_agent("gemini"), tmp_path)
    run(run_agent(request))
    stderr = request.raw_output_path.with_name(request.raw_output_path.name + ".stderr")
    assert '"code": 401' in stderr.read_text()


@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_prompt_goes_on_stdin_with_each_tools_arguments(fake_bin: Path, tmp_path: Path) -> None:
    prompt = "PLAN the SPEC.\n" + "context line\n" * 20_000  # 260 kB: too long for one argv item
    for cli, model in (
        ("claude", "claude-sonnet-4-5"),
        ("gemini", "gemini-2.5-pro"),
        ("codex", "gpt-5"),
    ):
        agent = make_agent(cli, model=model, args=["--extra"])
        assert run(run_agent(make_request(agent, tmp_path, prompt=prompt))).status == "ok"
    calls = {call["cli"]: call for call in read_calls(fake_bin)}
    assert calls["claude"]["argv"] == [
        "-p",
        "--output-format",
        "json",
        "--model",
        "claude-sonnet-4-5",
        "--extra",
    ]
    assert calls["gemini"]["argv"] == [
        "-p",
        INSTRUCTION,
        "-o",
        "json",
        "-m",
        "gemini-2.5-pro",
        "--extra",
    ]
    assert calls["codex"]["argv"] == [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "-s",
        "read-only",
        "-m",
        "gpt-5",
        "--extra",
        "-",
    ]
    for call in calls.values():
        assert call["stdin"] == prompt
        assert call["cwd"] == str(tmp_path / "work")


def test_codex_gets_a_writable_sandbox_only_when_the_stage_writes(
    fake_bin: Path, tmp_path: Path
) -> None:
    agent = make_agent("codex", model="gpt-5-codex")
    run(run_agent(make_request(agent, tmp_path, stage="implement", writes=True)))
    run(run_agent(make_request(agent, tmp_path, stage="plan")))
    sandboxes = [call["argv"][call["argv"].index("-s") + 1] for call in read_calls(fake_bin)]
    assert sandboxes == ["workspace-write", "read-only"]


@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_codex_usage_is_priced_by_the_library_or_the_override(
    fake_bin: Path, tmp_path: Path
) -> None:
    priced = run(run_agent(make_request(make_agent("codex", model="gpt-5"), tmp_path)))
    assert priced.cost_source == "priced"
    assert priced.cost_usd is not None and priced.cost_usd > 0
    override = PriceOverride(input_per_mtok=1.0, output_per_mtok=10.0, cache_read_per_mtok=0.1)
    agent = make_agent("codex", model="gpt-5", price=override)
    result = run(run_agent(make_request(agent, tmp_path)))
    # input 123 includes 7 cached: 116 × $1 + 7 × $0.1 + 45 output × $10, per million
    assert result.cost_source == "priced"
    assert result.cost_usd == pytest.approx((116 * 1.0 + 7 * 0.1 + 45 * 10.0) / 1e6)


@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_gemini_prices_router_and_main_model_separately(fake_bin: Path, tmp_path: Path) -> None:
    result = run(run_agent(make_request(make_agent("gemini"), tmp_path)))
    assert result.cost_source == "priced"
    assert result.cost_usd is not None and result.cost_usd > 0
    override = PriceOverride(input_per_mtok=2.0, output_per_mtok=4.0)
    flat = run(run_agent(make_request(make_agent("gemini", price=override), tmp_path)))
    # both models: 246 input (cache billed as input here), 90 candidates + 6 thoughts as output
    assert flat.cost_usd == pytest.approx((246 * 2.0 + 96 * 4.0) / 1e6)


@pytest.mark.shared(AGENT_CLI_FIXTURES)
def test_claude_reported_cost_wins_over_an_override(fake_bin: Path, tmp_path: Path) -> None:
    agent = make_agent("claude", price=PriceOverride(input_per_mtok=100.0, output_per_mtok=100.0))
    result = run(run_agent(make_request(agent, tmp_path)))
    assert (result.cost_usd, result.cost_source) == (0.0014483999999999999, "reported")


def codex_answer(text: str) -> FakeCase:
    """A codex event stream whose agent message is `text`."""
    events = [
        {"type": "item.completed", "item": {"id": "i", "type": "agent_message", "text": text}},
        {"type": "turn.completed", "usage": {"input_tokens": 10, "output_tokens": 5}},
    ]
    return FakeCase(stdout_text="".join(json.dumps(e) + "\n" for e in events))


def test_stage_without_json_in_the_answer_is_invalid(fake_bin: Path, tmp_path: Path) -> None:
    set_case(fake_bin, "codex", codex_answer("I think it is fine."))
    result = run(run_agent(make_request(make_agent("codex"), tmp_path, stage="validate")))
    assert result.status == "invalid"
    assert result.text == "I think it is fine."
    assert result.error == "the answer holds no JSON object"
    free = run(run_agent(make_request(make_agent("codex"), tmp_path, stage="chat")))
    assert free.status == "ok" and free.parsed is None


def test_fenced_json_in_prose_is_parsed(fake_bin: Path, tmp_path: Path) -> None:
    answer = 'Here you go:\n```json\n{"decision": "approve"}\n```\nDone.'
    set_case(fake_bin, "codex", codex_answer(answer))
    result = run(run_agent(make_request(make_agent("codex"), tmp_path, stage="validate")))
    assert result.status == "ok"
    assert result.parsed == {"decision": "approve"}


@pytest.mark.parametrize(
    ("cli", "case", "total"),
    [
        ("gemini", "success", 2 * 171),  # its own total, thoughts included (router + main)
        ("gemini", "success-stream", 2 * 171),
        ("claude", "success", 123 + 7 + 11 + 45),  # no total given: input (all of it) + output
        ("codex", "success", 123 + 45),  # output already includes reasoning
    ],
)
def test_total_tokens_is_the_providers_own_total(
    cli: str, case: str, total: int, fake_bin: Path, tmp_path: Path
) -> None:
    set_case(fake_bin, cli, case)
    result = run(run_agent(make_request(make_agent(cli), tmp_path)))
    assert result.usage.total_tokens == total


def test_a_count_gemini_did_not_report_is_null_and_not_priced(
    fake_bin: Path, tmp_path: Path
) -> None:
    tokens = {"prompt": 123, "cached": 7, "total": 171}  # no candidates, no thoughts
    document = {"response": OK, "stats": {"models": {"gemini-2.5-pro": {"tokens": tokens}}}}
    set_case(fake_bin, "gemini", FakeCase(stdout_text=json.dumps(document)))
    price = PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0)
    result = run(run_agent(make_request(make_agent("gemini", price=price), tmp_path)))
    assert result.status == "ok"
    assert (result.usage.output_tokens, result.usage.reasoning_tokens) == (None, None)
    assert (result.cost_usd, result.cost_source) == (None, "unknown")


THREAD = "01a212f4-1875-7850-96e6-79db4ed52938"  # the thread of codex/success.events.jsonl


def test_codex_without_a_model_records_the_model_of_its_session_log(
    fake_bin: Path, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    log = home / "sessions" / "2026" / "11" / "25" / f"rollout-2026-11-25T13-45-11-{THREAD}.jsonl"
    log.parent.mkdir(parents=True)
    lines = [
        {"type": "session_meta", "payload": {"id": THREAD, "model_provider": "fake"}},
        {"type": "turn_context", "payload": {"cwd": str(tmp_path), "model": "gpt-5"}},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    request = make_request(make_agent("codex"), tmp_path, env={"CODEX_HOME": str(home)})
    result = run(run_agent(request))
    assert result.status == "ok"
    assert result.model == "gpt-5"
    assert result.cost_source == "priced" and result.cost_usd  # priced under that model


STARTUP_WARNING = {
    "type": "item.completed",
    "item": {
        "id": "item_0",
        "type": "error",
        "message": "Model metadata for `gpt-5` not found. Defaulting to fallback metadata; "
        "this can degrade performance and cause issues.",
    },
}


def test_codex_startup_warning_names_the_model_and_is_not_the_error(
    fake_bin: Path, tmp_path: Path
) -> None:
    started = {"type": "thread.started", "thread_id": "not-in-any-session-log"}
    events = [started, STARTUP_WARNING]
    stdout = "".join(json.dumps(e) + "\n" for e in events)
    set_case(fake_bin, "codex", FakeCase(stdout_text=stdout, stderr_text="boom\n", exit_code=1))
    env = {"CODEX_HOME": str(tmp_path / "empty-home")}
    result = run(run_agent(make_request(make_agent("codex"), tmp_path, env=env)))
    assert result.status == "failed"
    assert result.model == "gpt-5"
    assert result.error is not None and "Model metadata" not in result.error
