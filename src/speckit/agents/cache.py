"""The answer cache: an agent call identical to an earlier valid one reuses its answer.

Agents are paid per token, and a stage re-run with unchanged inputs (a resumed `auto`, a
stage re-run after one agent failed) would pay again for answers it already has. So each
valid answer is kept under `.speckit/cache/`, content-addressed by the sha256 of every
input that decides it (`cache_key`); a later call with the same inputs starts no process,
costs 0 (`cost_source = "cached"`) and names the call it came from (`cached_from`).

What decides an answer, hence the key: the agent's name (two agents of a panel never share
an answer), driver, model, role, `args`, `command`, `base_url`, `api_key_env` (the name, not
the key), `script`, `model_path`, `temperature`, `seed`, `max_tokens`, `system_prompt`, its
`env` as written in speckit.toml and this run's `--env` overrides (the inherited shell
environment is left out: PATH or a terminal variable would defeat every hit), the content of
the files its `command`, `args`, `script` and `model_path` name (sha256 up to 1 MiB, else size
and mtime: an edited agent script is a new agent), the stage, the schema and the rendered
prompt, which carries the prompt version, the SPEC's documents and, for an aggregator, the
proposals. Only the header speckit writes atop a generated document is left out of the prompt:
it names the run that wrote it, so plan's prompt (which shows plan.md) would never match.

Never stored: a request that writes (implementers edit worktrees), and any answer that is
not valid (status other than ok, or a stage answer `check_answer` refuses). An entry is one
file, `<sha[:2]>/<sha>.entry`: a JSON line (the result, the origin, its cost, the raw
output's length and sha256) then the raw output's bytes, written atomically (temp file +
rename), so concurrent runs leave one whole entry; anything that does not read back whole
(truncated, edited, another key's) is a miss, never an error. A cache folder that cannot be
written leaves the run uncached, with one warning per process. Each lookup appends one line
to `lookups.jsonl` (hit or miss, money saved) for `speckit cache stats`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from speckit.agents.request import AgentRequest
from speckit.agents.result import AgentResult, Usage
from speckit.errors import SpeckitError
from speckit.fsutil import atomic_write_bytes, check_inside, open_inside
from speckit.stages import STAGES

__all__ = [
    "CacheSlot",
    "CacheStats",
    "cache_key",
    "cache_stats",
    "cacheable",
    "clear_cache",
    "slot_for",
]

logger = logging.getLogger(__name__)
FORMAT = 1
ENTRY_SUFFIX = ".entry"
LOOKUPS = "lookups.jsonl"
HASHED_FILE_MAX = 1 << 20  # files an agent names are hashed up to this size, else size+mtime
MAX_RAW_BYTES = 16 << 20  # a larger raw output is not worth keeping twice
# The header speckit writes atop a generated document (`specs.generated`) names the run that
# wrote it (timestamp, session, synthesis path): left out of the key, or a stage whose prompt
# shows its own document (plan shows plan.md) would miss forever. The body below it counts.
_GENERATED_HEADER = re.compile(r"<!-- speckit:.*?-->", re.DOTALL)
_warned: set[str] = set()
_warn_lock = threading.Lock()


def _file_digest(path: Path) -> str | None:
    """What identifies a file an agent's config names: its sha256, or size and mtime when
    large (a model file); None when it is not a regular file."""
    try:
        info = path.stat()
        if not path.is_file():
            return None
        if info.st_size > HASHED_FILE_MAX:
            return f"size={info.st_size} mtime_ns={info.st_mtime_ns}"
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None


def _named_files(request: AgentRequest) -> dict[str, str]:
    agent = request.agent
    words = [*agent.command, *agent.args]
    words += [w for w in (agent.script, agent.model_path) if w]
    digests: dict[str, str] = {}
    for word in words:
        if not word or word.startswith("-") or "\n" in word or len(word) > 4096:
            continue
        path = Path(word).expanduser()
        if not path.is_absolute():
            path = request.config_root / path
        digest = _file_digest(path)
        if digest is not None:
            digests[word] = digest
    return digests


def cache_key(request: AgentRequest) -> str:
    """The sha256 of every input that decides the call's answer (see the module docstring)."""
    agent = request.agent
    inputs = {
        "format": FORMAT,
        "agent": agent.name,
        "driver": agent.driver,
        "model": agent.model,
        "role": agent.role,
        "args": agent.args,
        "command": agent.command,
        "base_url": agent.base_url,
        "api_key_env": agent.api_key_env,
        "script": agent.script,
        "model_path": agent.model_path,
        "temperature": agent.temperature,
        "seed": agent.seed,
        "max_tokens": agent.max_tokens,
        "system_prompt": agent.system_prompt,
        "env": sorted(agent.env.items()),
        "env_overrides": sorted((request.env or {}).items()),
        "files": _named_files(request),
        "stage": request.stage,
        "schema": request.schema,
        "prompt": _GENERATED_HEADER.sub("<!-- speckit -->", request.prompt),
    }
    blob = json.dumps(inputs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def cacheable(request: AgentRequest, result: AgentResult) -> bool:
    """Only valid answers of calls that write nothing: a failure, a timeout, a cancel or an
    answer the stage refuses is asked again next time, never replayed."""
    if request.writes or result.status != "ok" or result.cached_from is not None:
        return False
    if request.schema is not None or request.stage in STAGES:
        from speckit.answers.schemas import check_answer

        if request.stage not in STAGES or check_answer(request.stage, result.parsed) is not None:
            return False
    return True


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _warn_unwritable(folder: Path, error: BaseException) -> None:
    """One warning per cache folder and process, however many agents hit the problem."""
    with _warn_lock:
        if str(folder) in _warned:
            return
        _warned.add(str(folder))
    why = error.message if isinstance(error, SpeckitError) else str(error)
    line = f"speckit: warning: answer cache off for this run: {folder} is not writable ({why})"
    logger.info("%s", line)
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CacheSlot:
    """Where one request's answer is (or would be) kept."""

    folder: Path
    key: str
    root: Path  # the workspace root: nothing is written through a symlink below it

    @property
    def path(self) -> Path:
        return self.folder / self.key[:2] / f"{self.key}{ENTRY_SUFFIX}"

    def lookup(self, request: AgentRequest) -> AgentResult | None:
        """The cached answer as this call's result (its raw output written where the call
        would have written it), or None: absent, unreadable, or not whole."""
        entry = _read_entry(self.path, self.key)
        if entry is None:
            self._count(request, None)
            return None
        meta, raw = entry
        try:
            result = _result_of(meta, raw, request)
            if raw is not None:  # the evidence bundle stays complete: the raw output too
                # written as a driver writes it (a new file per run key, no fsync: ~1 ms, not ~8)
                check_inside(self.root, request.raw_output_path)
                request.raw_output_path.parent.mkdir(parents=True, exist_ok=True)
                request.raw_output_path.write_bytes(raw)
                result.raw_output_path = str(request.raw_output_path)
        except (OSError, ValueError, TypeError, KeyError, SpeckitError) as exc:
            logger.info("%s: cache entry %s unusable: %s", request.agent.name, self.path, exc)
            self._count(request, None)
            return None
        self._count(request, result)
        return result

    def store(self, request: AgentRequest, result: AgentResult) -> bool:
        """Keep a valid answer (see `cacheable`); False when not kept. Never raises."""
        if not cacheable(request, result) or str(self.folder) in _warned:
            return False
        if _read_entry(self.path, self.key) is not None:  # another run kept it first: theirs
            return False  # (a corrupt entry is replaced)
        raw = _raw_bytes(request, result)
        if raw is not None and len(raw) > MAX_RAW_BYTES:
            return False
        try:
            meta = _meta_of(self.key, request, result, raw)
            header = json.dumps(meta, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:  # not JSON-able: asked again next time
            logger.info("%s: answer not cached: %s", request.agent.name, exc)
            return False
        try:
            check_inside(self.root, self.path)
            atomic_write_bytes(self.path, header + b"\n" + (raw or b""))
        except (OSError, SpeckitError) as exc:
            _warn_unwritable(self.folder, exc)
            return False
        return True

    def _count(self, request: AgentRequest, hit: AgentResult | None) -> None:
        """One line in `lookups.jsonl`: hits, misses and money saved for `cache stats`."""
        if str(self.folder) in _warned:
            return
        line = {
            "when": _now(),
            "key": self.key,
            "agent": request.agent.name,
            "stage": request.stage,
            "hit": hit is not None,
            "saved_usd": hit.saved_usd if hit is not None else None,
        }
        data = (json.dumps(line) + "\n").encode()
        try:
            fd = open_inside(
                self.root, self.folder / LOOKUPS, os.O_WRONLY | os.O_APPEND | os.O_CREAT
            )
        except (OSError, SpeckitError) as exc:
            _warn_unwritable(self.folder, exc)
            return
        try:
            os.write(fd, data)  # one short O_APPEND write: whole among concurrent writers
        except OSError as exc:
            _warn_unwritable(self.folder, exc)
        finally:
            os.close(fd)


def slot_for(request: AgentRequest) -> CacheSlot | None:
    """The request's cache slot, or None when it is not to be cached (no cache folder for
    this run, or a request that writes)."""
    if request.cache_dir is None or request.writes:
        return None
    try:
        key = cache_key(request)
    except (TypeError, ValueError) as exc:  # an input that is not JSON-able: not cached
        logger.info("%s: not cached: %s", request.agent.name, exc)
        return None
    return CacheSlot(request.cache_dir, key, request.config_root)


def _raw_bytes(request: AgentRequest, result: AgentResult) -> bytes | None:
    if result.raw_output_path is None:
        return None
    try:
        return Path(result.raw_output_path).read_bytes()
    except OSError:
        return None


_NOT_KEPT = {
    "latency_ms",
    "started_at_ns",
    "raw_output_path",
    "cached_from",
    "cached_usage",
    "saved_usd",
}


def _meta_of(
    key: str, request: AgentRequest, result: AgentResult, raw: bytes | None
) -> dict[str, Any]:
    kept = result.model_dump(mode="json", exclude=_NOT_KEPT)
    text_is_raw = raw is not None and raw == result.text.encode("utf-8")
    if text_is_raw:
        del kept["text"]  # the raw output below holds it: not kept twice
    return {
        "format": FORMAT,
        "key": key,
        "created": _now(),
        "agent": request.agent.name,
        "stage": request.stage,
        "origin": _relative(request.raw_output_path, request.config_root),
        "cost_usd": result.cost_usd,
        "cost_source": result.cost_source,
        "raw_bytes": None if raw is None else len(raw),
        "raw_sha256": None if raw is None else hashlib.sha256(raw).hexdigest(),
        "text_is_raw": text_is_raw,
        "result": kept,
    }


def _read_entry(path: Path, key: str) -> tuple[dict[str, Any], bytes | None] | None:
    """(meta, raw) when the entry reads back whole and is this key's, else None."""
    try:
        data = path.read_bytes()
    except OSError:  # absent, unreadable, a folder...
        return None
    head, newline, raw = data.partition(b"\n")
    if not newline:
        return None
    try:
        meta = json.loads(head)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
        return None
    if not isinstance(meta.get("result"), dict):
        return None
    if meta.get("raw_bytes") is None:
        return (meta, None) if not raw and not meta.get("text_is_raw") else None
    if len(raw) != meta["raw_bytes"] or hashlib.sha256(raw).hexdigest() != meta.get("raw_sha256"):
        return None
    return meta, raw


def _result_of(meta: dict[str, Any], raw: bytes | None, request: AgentRequest) -> AgentResult:
    """This call's result from an entry: the origin's answer, nothing spent."""
    fields = dict(meta["result"])
    if meta.get("text_is_raw"):
        fields["text"] = (raw or b"").decode("utf-8")
    origin = AgentResult.model_validate(fields)
    cost = meta.get("cost_usd")
    return origin.model_copy(
        update={
            "agent": request.agent.name,
            "role": request.agent.role,
            "usage": Usage(input_tokens=0, output_tokens=0),
            "cost_usd": 0.0,
            "cost_source": "cached",
            "cached_from": str(meta["origin"]),
            "cached_usage": origin.usage,
            "saved_usd": float(cost) if isinstance(cost, int | float) else None,
        }
    )


@dataclass
class CacheStats:
    """What `speckit cache stats` shows."""

    folder: str
    entries: int = 0
    size_bytes: int = 0
    hits: int = 0
    misses: int = 0
    saved_usd: float = 0.0
    oldest: str | None = None
    newest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.glob(f"??/*{ENTRY_SUFFIX}"))
    except OSError:
        return []


def cache_stats(folder: Path) -> CacheStats:
    """Entries and bytes on disk; hits, misses and money saved from `lookups.jsonl`."""
    stats = CacheStats(folder=str(folder))
    times: list[float] = []
    for path in _entries(folder):
        try:
            info = path.stat()
        except OSError:
            continue
        stats.entries += 1
        stats.size_bytes += info.st_size
        times.append(info.st_mtime)
    if times:
        stats.oldest, stats.newest = _iso(min(times)), _iso(max(times))
    try:
        lines = (folder / LOOKUPS).read_bytes().splitlines()
        stats.size_bytes += (folder / LOOKUPS).stat().st_size
    except OSError:
        lines = []
    for raw in lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # a torn line: not counted
        if not isinstance(line, dict):
            continue
        if line.get("hit") is True:
            stats.hits += 1
            saved = line.get("saved_usd")
            if isinstance(saved, int | float) and not isinstance(saved, bool):
                stats.saved_usd += float(saved)
        elif line.get("hit") is False:
            stats.misses += 1
    return stats


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clear_cache(folder: Path, older_than_days: float | None = None) -> int:
    """Remove entries (only those written more than `older_than_days` ago, when given; else
    every entry, the lookup counters and leftover temp files); returns the entries removed."""
    if older_than_days is not None and older_than_days < 0:
        raise SpeckitError(f"--older-than must be 0 or more days, got {older_than_days:g}")
    cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
    removed = 0
    for path in _entries(folder):
        try:
            if cutoff is not None and path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise SpeckitError(f"cannot remove {path}: {exc.strerror or exc}") from None
    if cutoff is None:
        try:
            leftovers = [*folder.glob("??/.*.tmp"), folder / LOOKUPS]
        except OSError:
            leftovers = []
        for path in leftovers:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(OSError):
        for sub in folder.glob("??"):
            with contextlib.suppress(OSError):
                sub.rmdir()  # only when empty
    return removed
