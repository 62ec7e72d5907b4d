"""`scripted`: a deterministic in-process agent for tests and the offline demo.

The agent's `script` names a TOML file (or JSON when it ends in `.json`),
relative to the workspace root or absolute. Answers are looked up per stage
and per agent, falling back to `default` on either level, in this order:
`stages.<stage>.<agent>`, `stages.<stage>.default`, `stages.default.<agent>`,
`stages.default.default`. Keys of `[defaults]` apply under every entry.

    [defaults]
    delay = 0.2                       # seconds before answering (the time box applies)

    [stages.plan.gemini]
    delay = 1.0
    answer = { final_plan = { work_breakdown = ["Add a limiter", "Test it"] } }
    usage = { input_tokens = 1200, output_tokens = 340, cache_read_tokens = 100 }

    [stages.plan.claude]
    mode = "fail"                     # ok | fail | timeout | invalid_json | garbage | huge
    error = "HTTP 429: rate limited"
    exit_code = 1

    [stages.plan.default]             # any other agent in plan
    text = "Here it is: ```json\n{\"final_plan\": {\"work_breakdown\": [\"x\"]}}\n```"

    [stages.default.default]          # any stage, any agent
    answer = { decision = "approve" }
    cost_usd = 0.0125                 # reported cost (else priced from usage)

Entry keys: `mode`, `answer` (a JSON object; the text is its JSON), `text`
(raw answer text, used when there is no `answer`), `delay`, `usage`
(input/output/reasoning/cache_read/cache_write `_tokens`; by default estimated
as characters / 4), `cost_usd`, `model`, `error` and `exit_code` (for `fail`),
`size_mb` (for `huge`, default 11: past the 10 MB in-memory cap). Modes:
`timeout` never answers (the agent's `timeout` ends it), `invalid_json` sends a
cut-off JSON object, `garbage` sends noise without braces, `huge` sends
`size_mb` of filler lines.
"""

from __future__ import annotations

import asyncio
import json
import random
import tomllib
import zlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from speckit.agents.base import Outcome, finish, simple_result
from speckit.agents.process import MEMORY_CAP
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.config import AgentConfig

Mode = Literal["ok", "fail", "timeout", "invalid_json", "garbage", "huge"]


class ScriptEntry(BaseModel):
    """One scripted answer; unknown keys are refused so typos show up."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "ok"
    answer: dict[str, Any] | None = None
    text: str | None = None
    delay: float = Field(default=0.0, ge=0)
    usage: Usage | None = None
    cost_usd: float | None = Field(default=None, ge=0)
    model: str | None = None
    error: str = "scripted failure"
    exit_code: int | None = 1
    size_mb: float = Field(default=11.0, gt=0)


class ScriptError(Exception):
    """The script file is missing or malformed (message is one line)."""


def script_path(agent: AgentConfig, workdir: Path | None) -> Path | None:
    if not agent.script:
        return None
    path = Path(agent.script).expanduser()
    return path if path.is_absolute() else (workdir or Path.cwd()) / path


def load_script(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ScriptError(f"script {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ScriptError(f"script {path.name}: top level must be a table/object")
    return data


def pick_entry(script: dict[str, Any], stage: str, agent: str) -> ScriptEntry:
    """The entry for (stage, agent), with `default` fallbacks and `[defaults]` merged under it."""
    stages = script.get("stages") or {}
    order = ((stage, agent), (stage, "default"), ("default", agent), ("default", "default"))
    for stage_key, agent_key in order:
        entry = (stages.get(stage_key) or {}).get(agent_key)
        if isinstance(entry, dict):
            merged = {**(script.get("defaults") or {}), **entry}
            try:
                return ScriptEntry.model_validate(merged)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ScriptError(
                    f"script entry stages.{stage_key}.{agent_key}: {where}: {first['msg']}"
                ) from None
    raise ScriptError(f"script has no entry for stage '{stage}' and agent '{agent}'")


def _garbage(seed: str) -> str:
    rng = random.Random(zlib.crc32(seed.encode()))
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,;:!?#%") for _ in range(400))
    return f"\x1b[2K\r\u2592\u2592 {noise} \u2592\u2592\n"


def _answer_text(entry: ScriptEntry, request: AgentRequest) -> str:
    if entry.mode == "invalid_json":
        return '{"final_plan": {"work_breakdown": ["first step", "second'
    if entry.mode == "garbage":
        return _garbage(f"{request.agent.name}/{request.stage}")
    if entry.answer is not None:
        return json.dumps(entry.answer, indent=2, ensure_ascii=False)
    return entry.text or ""


def _write_huge(path: Path, size_mb: float) -> tuple[str, bool]:
    """Write `size_mb` of filler lines; return what the in-memory cap keeps."""
    line = ("scripted filler " * 64)[:1023] + "\n"
    count = int(size_mb * 1024 * 1024) // len(line)
    with path.open("w", encoding="utf-8") as sink:
        for _ in range(count):
            sink.write(line)
    kept = line * min(count, MEMORY_CAP // len(line))
    return kept, count * len(line) > MEMORY_CAP


class ScriptedDriver:
    name = "scripted"

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        path = script_path(agent, workdir)
        if path is None:
            return False, "no script file configured"
        if not path.is_file():
            return False, f"script file {path} not found"
        return True, str(path)

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        return None

    async def run(self, request: AgentRequest) -> AgentResult:
        agent = request.agent
        path = script_path(agent, request.workdir)
        if path is None or not path.is_file():
            return simple_result(request, "missing", f"script file {agent.script} not found")
        try:
            entry = pick_entry(load_script(path), request.stage, agent.name)
        except ScriptError as exc:
            return simple_result(request, "failed", str(exc))
        try:
            async with asyncio.timeout(agent.timeout):
                await asyncio.sleep(entry.delay)
                if entry.mode == "timeout":
                    await asyncio.Event().wait()
        except TimeoutError:
            error = f"timed out after {agent.timeout:g}s"
            return finish(request, Outcome(status="timeout", error=error))
        request.raw_output_path.parent.mkdir(parents=True, exist_ok=True)
        truncated = False
        if entry.mode == "huge":
            text, truncated = _write_huge(request.raw_output_path, entry.size_mb)
        else:
            text = _answer_text(entry, request)
            request.raw_output_path.write_text(text, encoding="utf-8")
        usage = entry.usage or Usage(
            input_tokens=len(request.prompt) // 4, output_tokens=len(text) // 4
        )
        if entry.mode == "fail":
            outcome = Outcome(
                status="failed",
                text=text,
                usage=usage,
                error=entry.error,
                exit_code=entry.exit_code,
            )
        else:
            outcome = Outcome(status="ok", text=text, usage=usage, truncated=truncated, exit_code=0)
        outcome.reported_cost = entry.cost_usd
        outcome.model = entry.model
        return finish(request, outcome)
