"""`scripted`: a deterministic in-process agent for tests and the offline demo.

The agent's `script` names a TOML file (or JSON when it ends in `.json`),
relative to the workspace root (`AgentRequest.config_root`) or absolute.
Answers are looked up per stage and per agent, falling back to `default` on
either level, in this order: `stages.<stage>.<agent>`, `stages.<stage>.default`,
`stages.default.<agent>`, `stages.default.default`. Keys of `[defaults]` apply under every entry.

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

Edits, for a stage that writes (implement; the request's `workdir` is then the
agent's own git worktree). They are ignored in read-only stages, like a CLI
whose write is refused there:

    [stages.implement.right]
    answer = { checklist = ["fix add()"] }
    files = { "calc/ops.py" = "def add(a, b):\n    return a + b\n" }  # write/overwrite
    delete = ["tests/test_old.py"]         # files, symlinks or whole folders
    symlinks = { "notes.txt" = "/etc/hostname" }  # link = target (target unchecked)

`files` are written first (parent folders created), then `delete` is applied,
then `symlinks` are made (never where `files` wrote), so no file is written
through a link the entry makes;
the target of a link is taken as given, to build hostile candidates (a link out
of the worktree). Each path is relative to `workdir`: one that is absolute, uses
`..`, names `.git`, or leads out of `workdir` through an existing symlink, or a
`delete` of a path that does not exist, fails the agent with a one-line error and
nothing is written. Edits happen after `delay`, whatever the mode (a `fail` or
`timeout` entry leaves its edits behind, as a tool that crashes would), and the
result's `edited_files` lists the paths the entry touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import tomllib
import zlib
from pathlib import Path, PurePosixPath
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
    files: dict[str, str] = Field(default_factory=dict)
    delete: list[str] = Field(default_factory=list)
    symlinks: dict[str, str] = Field(default_factory=dict)

    @property
    def edits(self) -> bool:
        return bool(self.files or self.delete or self.symlinks)


class ScriptError(Exception):
    """The script file is missing or malformed (message is one line)."""


class EditRefused(Exception):
    """A scripted edit whose path is not inside the working directory (one line)."""


def _inside(root: Path, key: str, rel: str, *, follow_last: bool) -> Path:
    """`rel` under `root`, refused when it could lead anywhere else.

    `follow_last`: the path's last part is followed too (a file is written through an
    existing link; a link or a deleted path is replaced or removed itself).
    """
    pure = PurePosixPath(rel)
    why = None
    if not pure.parts or "\0" in rel:
        why = "is empty"
    elif pure.is_absolute() or rel.startswith("~"):
        why = "is absolute; paths are relative to the working directory"
    elif ".." in pure.parts:
        why = "climbs out of the working directory with '..'"
    elif pure.parts[0] == ".git":
        why = "is git's own data"
    if why is None:
        target = root / pure
        seen = (target if follow_last else target.parent).resolve()
        real_root = root.resolve()
        if not seen.is_relative_to(real_root) or (follow_last and seen == real_root):
            why = "leads out of the working directory through a symlink"
        elif key == "delete" and not os.path.lexists(target):
            why = "does not exist"
        elif key == "symlinks" and target.is_dir() and not target.is_symlink():
            why = "is a folder"
        else:
            return target
    raise EditRefused(f"scripted: {key} {rel!r} {why}; nothing was written")


def apply_edits(entry: ScriptEntry, root: Path) -> list[str]:
    """Make the entry's edits under `root`; every path is checked before anything is written.

    Returns the paths touched (as given, each once); raises `EditRefused` or `OSError`.
    """
    files = [(_inside(root, "files", r, follow_last=True), c) for r, c in entry.files.items()]
    gone = [_inside(root, "delete", r, follow_last=False) for r in entry.delete]
    links = [
        (_inside(root, "symlinks", r, follow_last=False), t) for r, t in entry.symlinks.items()
    ]
    written = {PurePosixPath(rel) for rel in entry.files}
    for rel in entry.symlinks:
        link = PurePosixPath(rel)
        if any(path == link or link in path.parents for path in written):
            raise EditRefused(
                f"scripted: symlinks {rel!r} is also written by files; nothing was written"
            )
    for path, content in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8"))
    for path in gone:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):  # an earlier entry of the list may have removed it
            path.unlink()
    for path, target in links:
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            path.unlink()
        path.symlink_to(target)
    touched = [*entry.files, *entry.delete, *entry.symlinks]
    return list(dict.fromkeys(PurePosixPath(rel).as_posix() for rel in touched))


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
        path = script_path(agent, request.config_root)
        if path is None or not path.is_file():
            return simple_result(request, "missing", f"script file {agent.script} not found")
        try:
            entry = pick_entry(load_script(path), request.stage, agent.name)
        except ScriptError as exc:
            return simple_result(request, "failed", str(exc))
        try:
            async with asyncio.timeout(agent.timeout):
                await asyncio.sleep(entry.delay)
                edited = None
                if request.writes:
                    edited = apply_edits(entry, request.workdir)
                if entry.mode == "timeout":
                    await asyncio.Event().wait()
        except TimeoutError:
            error = f"timed out after {agent.timeout:g}s"
            return finish(request, Outcome(status="timeout", error=error))
        except EditRefused as exc:
            return simple_result(request, "failed", str(exc))
        except OSError as exc:
            return simple_result(request, "failed", f"scripted: an edit failed: {exc}")
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
        outcome.edited_files = edited
        return finish(request, outcome)
