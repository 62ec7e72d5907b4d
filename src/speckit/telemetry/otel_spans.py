"""OpenTelemetry GenAI spans built from telemetry lines, as plain data (no SDK here).

Kept apart from the exporter so the spans can be checked attribute by attribute
and built without `speckit[otel]` installed. One trace per `auto` run (an
`invoke_workflow` root, one span per stage run under it) or per lone stage run;
an `invoke_agent {agent}` span per agent call under its stage run (the guardrail's
policy-agent calls too).

Ids are hashes of the run keys (SPEC, stage, run key, agent), so exporting the same
runs twice gives the same trace and span ids and a backend can drop the repeat.

Times. A telemetry line records when each call started (`started_at`, to the
microsecond) and its latency: its span runs from that start for that long
(`speckit.time_source = "recorded"`). Lines written before `started_at` existed (and
the earlier system's) have the latency only: there the end of a call is its raw output
file's modification time (the driver writes that file as the tool answers), so the
span runs from end - latency to end (`speckit.time_source = "raw_output"`). When the
raw file is missing or its time
does not fit the run (evidence copied or checked out later), calls are laid out
from the run's start instead: proposers together, then the aggregator, then the
arbiter (`speckit.time_source = "layout"`). A stage run starts at its run key's
timestamp (one-second resolution) and ends with its last call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from speckit.evidence.jsonl import iter_lines
from speckit.evidence.naming import parse_name
from speckit.numbers import is_number

AttrValue = str | bool | int | float | list[str]
NS = 1_000_000_000
MS = 1_000_000
# A raw file's time is trusted when it lies within this long after the run's start,
# beyond the run's own agent time (a clock skew or a checkout an hour later is not).
PLAUSIBLE_SLACK_NS = 3600 * NS
NUDGE_NS = 100 * MS  # the most a derived start is moved to keep a call inside its order
MAX_CONTENT_CHARS = 256_000  # one answer exported with --include-content
WORKFLOW_NAME = "speckit auto"
# gen_ai.provider.name per driver: the conventions' well-known values where one applies.
PROVIDERS = {
    "claude_cli": "anthropic",
    "gemini_cli": "gcp.gemini",
    "codex_cli": "openai",
    "openai_http": "openai",
    "llama_cpp": "llama_cpp",
    "scripted": "speckit.scripted",
    "command": "_OTHER",
}
_LATER_ROLES = {"aggregator": 1, "arbiter": 2}  # proposers and implementers: 0


@dataclass(frozen=True, slots=True)
class SpanData:
    """One span, ready for any exporter: ids as integers, times in ns since the epoch."""

    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    start_ns: int
    end_ns: int
    client: bool  # SpanKind.CLIENT (a call out to an agent) else INTERNAL
    attributes: dict[str, AttrValue]
    error: str | None = None  # the span's status is ERROR with this description


@dataclass(frozen=True, slots=True)
class StageLine:
    """One stage run's telemetry line and the file it was read from."""

    path: Path
    record: dict[str, Any]

    @property
    def spec_id(self) -> str:
        return str(self.record.get("specId") or self.path.parent.name)

    @property
    def key(self) -> str:
        """The run key: the line's `runId`, else the key in the file name."""
        run_id = self.record.get("runId")
        if isinstance(run_id, str) and run_id:
            return run_id
        name = parse_name(self.path.name)
        return name.key if name is not None else str(self.record.get("timestamp", ""))

    @property
    def command(self) -> str:
        return str(self.record.get("command", ""))

    @property
    def stage(self) -> str:
        return self.command.removeprefix("spec-")

    @property
    def auto_run(self) -> str | None:
        value = self.record.get("autoRunId")
        return value if isinstance(value, str) and value else None


@dataclass
class _Call:
    """One agent call of a stage run, before its times are settled."""

    entry: dict[str, Any]
    role: str
    latency_ns: int
    end_ns: int | None  # from the raw output file; None: lay it out
    start_ns: int | None  # recorded when the call started (`started_at`); None: derive it
    span_id: int
    attributes: dict[str, AttrValue] = field(default_factory=dict)


def span_id(*parts: str) -> int:
    """A 64-bit span id from the run keys (never 0, which OpenTelemetry reads as invalid)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1


def trace_id(*parts: str) -> int:
    """A 128-bit trace id from the run keys (never 0)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") or 1


def parse_time(text: str) -> int | None:
    """ns since the epoch of `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (or any ISO form); None if not."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def read_stage_lines(
    consensus_root: Path, spec_ids: Sequence[str] = (), since_ns: int | None = None
) -> Iterator[StageLine]:
    """Every stage line (not overrides, not unreadable lines) of the SPECs, oldest run first."""
    folders = [consensus_root / s for s in spec_ids] or sorted(consensus_root.glob("SPEC-*"))
    for folder in folders:
        found = []
        for path in folder.glob("*_telemetry.jsonl"):
            name = parse_name(path.name)
            if name is not None:
                found.append((name.sort_key, path))
        for _order, path in sorted(found):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for line in iter_lines(data):
                record = line.record
                if record is None or record.get("event", "stage") != "stage":
                    continue
                if not isinstance(record.get("consensus"), dict):
                    continue
                if since_ns is not None:
                    start = parse_time(str(record.get("timestamp", "")))
                    if start is None or start < since_ns:
                        continue
                yield StageLine(path, record)


def _set(attributes: dict[str, AttrValue], key: str, value: Any) -> None:
    """Set a known value; unknown stays absent (never a guessed 0)."""
    if value is None:
        return
    if isinstance(value, bool | str):
        attributes[key] = value
    elif is_number(value):
        attributes[key] = int(value) if isinstance(value, int) else float(value)
    elif isinstance(value, list):
        attributes[key] = [str(v) for v in value]


def _mtime_ns(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _content(line: StageLine, entry: dict[str, Any]) -> str | None:
    """The agent's answer as kept in evidence (its answer file beside the line)."""
    output = entry.get("output_path")
    if not isinstance(output, str) or not output:
        return None
    answer = line.path.parent / Path(output).name  # never outside the run's folder
    try:
        return answer.read_text(encoding="utf-8", errors="replace")[:MAX_CONTENT_CHARS]
    except OSError:
        return None


def _agent_attributes(
    line: StageLine, entry: dict[str, Any], include_content: bool
) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {}
    agent = str(entry.get("agent", ""))
    driver = entry.get("driver")
    attrs["gen_ai.operation.name"] = "invoke_agent"
    attrs["gen_ai.provider.name"] = PROVIDERS.get(str(driver), str(driver or "_OTHER"))
    attrs["gen_ai.agent.name"] = agent
    model = entry.get("model_id") or entry.get("model")
    _set(attrs, "gen_ai.request.model", model or None)
    _set(attrs, "gen_ai.response.model", model or None)
    _set(attrs, "gen_ai.usage.input_tokens", entry.get("prompt_tokens"))
    _set(attrs, "gen_ai.usage.output_tokens", entry.get("completion_tokens"))
    _set(attrs, "gen_ai.usage.cache_read.input_tokens", entry.get("cache_read_tokens"))
    _set(attrs, "gen_ai.usage.cache_creation.input_tokens", entry.get("cache_write_tokens"))
    _set(attrs, "gen_ai.usage.reasoning.output_tokens", entry.get("reasoning_tokens"))
    _set(attrs, "gen_ai.usage.cost", entry.get("cost_usd"))
    _set(attrs, "speckit.cost_source", entry.get("cost_source") or "unknown")
    # The run key, session and verdict are on the parent stage span; SPEC and stage are
    # repeated here so agent calls can be filtered without a join. Fewer attributes per
    # span keep a 10,000-call export fast (the SDK encodes each one in Python).
    _set(attrs, "speckit.spec_id", line.spec_id)
    _set(attrs, "speckit.stage", line.stage)
    _set(attrs, "speckit.driver", driver)
    _set(attrs, "speckit.role", entry.get("role"))
    _set(attrs, "speckit.status", entry.get("status") or entry.get("call_status"))
    if entry.get("cache_hit"):  # the answer cache served it (cost_source "cached")
        _set(attrs, "speckit.cached_from", entry.get("cached_from") or "")
    _set(attrs, "speckit.failure_kind", entry.get("failure_kind"))
    _set(attrs, "speckit.substituted_for", entry.get("substituted_for"))
    status = attrs.get("speckit.status")
    if status not in (None, "ok"):
        attrs["error.type"] = str(entry.get("failure_kind") or status)
        _set(attrs, "speckit.exit_code", entry.get("exit_code"))
    if include_content:
        text = _content(line, entry)
        if text is not None:
            message = {
                "role": "assistant",
                "parts": [{"type": "text", "content": text}],
                "finish_reason": "stop" if status == "ok" else "error",
            }
            attrs["gen_ai.output.messages"] = json.dumps([message], ensure_ascii=False)
    return attrs


def _calls(line: StageLine, include_content: bool) -> tuple[list[_Call], list[_Call]]:
    """The stage's agent calls and the guardrail's policy calls."""
    consensus = line.record["consensus"]
    spec, stage, key = line.spec_id, line.stage, line.key
    calls = []
    for entry in consensus.get("agents") or []:
        if not isinstance(entry, dict):
            continue
        agent = str(entry.get("agent", ""))
        raw = line.path.parent / f"{line.command}_{key}_{agent}_raw.txt"
        latency = entry.get("latency_ms")
        calls.append(
            _Call(
                entry=entry,
                role=str(entry.get("role") or "proposer"),
                latency_ns=int(latency * MS) if is_number(latency) else 0,
                end_ns=_mtime_ns(raw) if entry.get("status") != "missing" else None,
                start_ns=parse_time(str(entry.get("started_at") or "")),
                span_id=span_id("agent", spec, stage, key, agent),
                attributes=_agent_attributes(line, entry, include_content),
            )
        )
    guardrail = line.record.get("guardrail")
    policy_calls = guardrail.get("policy_agents") if isinstance(guardrail, dict) else None
    policy = []
    for index, entry in enumerate(policy_calls if isinstance(policy_calls, list) else []):
        if not isinstance(entry, dict):
            continue
        agent = str(entry.get("agent", ""))
        entry = {**entry, "model_id": entry.get("model"), "role": "policy"}
        latency = entry.get("latency_ms")
        policy.append(
            _Call(
                entry=entry,
                role="policy",
                latency_ns=int(latency * MS) if is_number(latency) else 0,
                end_ns=None,
                start_ns=None,
                span_id=span_id("policy", spec, stage, key, agent, str(index)),
                attributes=_agent_attributes(line, entry, False),
            )
        )
    return calls, policy


def _settle(calls: list[_Call], start_ns: int) -> list[tuple[_Call, int, int, str]]:
    """(call, start, end, time source) for each call: raw-file times where they fit the run.

    A raw file's time is a little early for the call's end (the file system's clock is
    coarse, and the driver parses the answer after writing it), so a derived start may
    read a few ms before the run's start or before the proposers it follows ended: such
    starts are moved up to that point, at most `NUDGE_NS`."""
    budget = sum(c.latency_ns for c in calls) + PLAUSIBLE_SLACK_NS
    timed: list[tuple[_Call, int, int, str]] = []
    laid_out: list[_Call] = []
    for call in calls:
        end = call.end_ns
        if call.start_ns is not None:  # recorded: the real start, nothing to derive
            timed.append((call, call.start_ns, call.start_ns + call.latency_ns, "recorded"))
        elif end is not None and start_ns - NUDGE_NS <= end - call.latency_ns <= start_ns + budget:
            timed.append((call, max(end - call.latency_ns, start_ns), end, "raw_output"))
        else:
            laid_out.append(call)
    for index, (call, start, end, source) in enumerate(timed):
        tier = _LATER_ROLES.get(call.role, 0)
        before = [e for c, _s, e, _src in timed if _LATER_ROLES.get(c.role, 0) < tier]
        if source == "raw_output" and before and start < max(before) <= start + NUDGE_NS:
            timed[index] = (call, min(max(before), end), end, source)
    offset = start_ns
    for tier in sorted({_LATER_ROLES.get(c.role, 0) for c in laid_out}):
        group = [c for c in laid_out if _LATER_ROLES.get(c.role, 0) == tier]
        for call in group:
            timed.append((call, offset, offset + call.latency_ns, "layout"))
        offset += max(c.latency_ns for c in group)
    return timed


def stage_spans(
    line: StageLine,
    include_content: bool = False,
    trace: int | None = None,
    parent: int | None = None,
    not_before: int = 0,
) -> list[SpanData]:
    """The stage run's span (first) and its agent calls' spans.

    `not_before`: the `auto` run's start; a run key holds whole seconds, so a stage's key
    may read earlier than the (microsecond) start of the auto run that made it."""
    record = line.record
    consensus = record["consensus"]
    spec, stage, key = line.spec_id, line.stage, line.key
    start_ns = max(parse_time(str(record.get("timestamp", ""))) or 0, not_before)
    trace = trace if trace is not None else trace_id("run", spec, stage, key)
    stage_id = span_id("stage", spec, stage, key)
    calls, policy = _calls(line, include_content)
    agent_spans: list[SpanData] = []
    end_ns = start_ns
    settled = _settle(calls, start_ns)
    settled += [(c, start_ns, start_ns + c.latency_ns, "layout") for c in policy]
    for call, start, end, source in settled:
        attributes = {**call.attributes, "speckit.time_source": source}
        status = attributes.get("speckit.status")
        error = None
        if status not in (None, "ok"):
            error = str(call.entry.get("error") or status)
        agent_spans.append(
            SpanData(
                name=f"invoke_agent {call.entry.get('agent', '')}",
                trace_id=trace,
                span_id=call.span_id,
                parent_id=stage_id,
                start_ns=start,
                end_ns=end,
                client=True,
                attributes=attributes,
                error=error,
            )
        )
        end_ns = max(end_ns, end)
    attrs: dict[str, AttrValue] = {}
    _set(attrs, "speckit.spec_id", spec)
    _set(attrs, "speckit.stage", stage)
    _set(attrs, "speckit.run_key", key)
    _set(attrs, "speckit.session_id", record.get("sessionId"))
    _set(attrs, "speckit.prompt_version", record.get("promptVersion"))
    _set(attrs, "speckit.verdict", consensus.get("status"))
    _set(attrs, "speckit.agreement_ratio", consensus.get("agreement_ratio"))
    _set(attrs, "speckit.min_agreement", consensus.get("min_agreement"))
    _set(attrs, "speckit.escalation", consensus.get("escalation_triggered"))
    _set(attrs, "speckit.escalation_reason", consensus.get("escalation_reason"))
    _set(attrs, "speckit.consensus_mode", consensus.get("mode"))
    _set(attrs, "speckit.decided_by", consensus.get("decided_by"))
    _set(attrs, "speckit.decision", record.get("decision"))
    _set(attrs, "speckit.total_cost_usd", consensus.get("total_cost_usd"))
    _set(attrs, "speckit.total_tokens", consensus.get("total_tokens"))
    missing = [m.get("agent") for m in record.get("missingAgents") or [] if isinstance(m, dict)]
    _set(attrs, "speckit.missing_agents", [str(m) for m in missing] or None)
    _set(attrs, "speckit.auto_run_id", line.auto_run)
    stage_span = SpanData(
        name=f"stage {stage}",
        trace_id=trace,
        span_id=stage_id,
        parent_id=parent,
        start_ns=start_ns,
        end_ns=max(end_ns, start_ns),
        client=False,
        attributes=attrs,
    )
    return [stage_span, *agent_spans]


def workflow_id(spec_id: str, auto_run_id: str) -> tuple[int, int]:
    """(trace id, span id) of an `auto` run's workflow span."""
    return trace_id("auto", spec_id, auto_run_id), span_id("workflow", spec_id, auto_run_id)


def workflow_span(spec_id: str, auto_run_id: str, stages: Sequence[SpanData]) -> SpanData:
    """The `invoke_workflow` span of an `auto` run, over its stage runs' spans."""
    trace, span = workflow_id(spec_id, auto_run_id)
    start = parse_time(auto_run_id)
    start_ns = start if start is not None else min(s.start_ns for s in stages)
    end_ns = max([start_ns, *(s.end_ns for s in stages)])
    attrs: dict[str, AttrValue] = {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": WORKFLOW_NAME,
        "speckit.spec_id": spec_id,
        "speckit.auto_run_id": auto_run_id,
        "speckit.stages": [str(s.attributes.get("speckit.stage", "")) for s in stages],
    }
    if stages:
        _set(attrs, "speckit.verdict", stages[-1].attributes.get("speckit.verdict"))
    return SpanData(
        name=f"invoke_workflow {WORKFLOW_NAME}",
        trace_id=trace,
        span_id=span,
        parent_id=None,
        start_ns=start_ns,
        end_ns=end_ns,
        client=False,
        attributes=attrs,
    )


def line_spans(line: StageLine, include_content: bool = False) -> list[SpanData]:
    """A stage run's spans, placed in its `auto` run's trace when it belongs to one."""
    if line.auto_run is None:
        return stage_spans(line, include_content)
    trace, parent = workflow_id(line.spec_id, line.auto_run)
    return stage_spans(line, include_content, trace, parent, parse_time(line.auto_run) or 0)


def build_spans(lines: Iterable[StageLine], include_content: bool = False) -> Iterator[SpanData]:
    """Every span of these stage lines, with one workflow span per `auto` run among them."""
    workflows: dict[tuple[str, str], list[SpanData]] = {}
    for line in lines:
        spans = line_spans(line, include_content)
        if line.auto_run is not None:
            workflows.setdefault((line.spec_id, line.auto_run), []).append(spans[0])
        yield from spans
    for (spec, run), stages in workflows.items():
        yield workflow_span(spec, run, stages)
