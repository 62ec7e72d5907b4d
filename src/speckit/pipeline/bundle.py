"""Write one stage run's evidence bundle: agent answers, metrics, synthesis, telemetry line.

Layout and run keys are `speckit.evidence.bundle`'s; this writer sits in the
pipeline because it joins the three things a finished run has: the agents'
results, the synthesis and the telemetry line format. JSON files are written
atomically; the synthesis is written after every agent file, so a synthesis on
disk means a complete bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.evidence.bundle import consensus_folder, reserve_run
from speckit.evidence.naming import bundle_file
from speckit.fsutil import atomic_write_json
from speckit.stages import command_name, parse_stage

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.models import AgentSummary, Synthesis


@dataclass
class BundlePaths:
    """Where one run's evidence landed; `key` is the timestamp actually used in the names."""

    folder: Path
    key: str
    agents: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Path] = field(default_factory=dict)
    synthesis: Path = Path()
    telemetry: Path | None = None

    @property
    def artifacts(self) -> list[Path]:
        return [*self.agents.values(), *self.metrics.values(), self.synthesis]


def _relative(path: Path, evidence_root: Path) -> str:
    """Paths in evidence are relative to the workspace (the evidence root's parent)."""
    try:
        return path.relative_to(evidence_root.parent).as_posix()
    except ValueError:
        return path.as_posix()


def _answer_or_stub(
    result: AgentResult | None,
    agent: str,
    spec_id: str,
    command: str,
    status: str,
    reason: str | None,
) -> dict[str, Any]:
    """The agent's parsed answer; an error stub when there is none (no fake conflicts in it)."""
    from speckit.answers.extract import extract_json

    if result is not None and result.status == "ok":
        data = result.parsed if result.parsed is not None else extract_json(result.text, command)
        if data is not None:
            return data
    stub: dict[str, Any] = {
        "spec_id": spec_id,
        "stage": command,
        "agent": agent,
        "status": status,
        "error": reason or status,
        "consensus": {"agreements": [], "conflicts": []},
    }
    if result is not None:
        stub["exit_code"] = result.exit_code
        if result.text:
            stub["output_excerpt"] = result.text[:2000]
        if result.raw_output_path:
            stub["raw_output_path"] = result.raw_output_path
    return stub


def _with_source(entry: dict[str, Any], result: AgentResult | None) -> dict[str, Any]:
    """The metrics file's entry plus `json_source`: which JSON object of the text was taken
    (the telemetry line keeps its own fields only)."""
    if result is None or result.json_source is None:
        return entry
    return {**entry, "json_source": result.json_source}


def _summary_of(result: AgentResult) -> AgentSummary:
    """An agent outside the verdict (the arbiter): valid when it answered at all."""
    from speckit.consensus.models import AgentSummary

    summary = AgentSummary.of(result)
    summary.valid, summary.reason = result.status == "ok", result.error
    return summary


def write_bundle(
    evidence_root: Path,
    spec_id: str,
    stage: str,
    timestamp: str,
    session_id: str,
    prompt_version: str,
    results: list[AgentResult],
    synthesis: Synthesis,
    guardrail: dict[str, Any] | None,
    telemetry_enabled: bool,
) -> BundlePaths:
    """Write the run's evidence; returns the paths (telemetry None when it is off)."""
    from speckit.config import check_agent_name  # pydantic: loaded by a run already
    from speckit.evidence.jsonl import append_line
    from speckit.telemetry.otel_live import after_line
    from speckit.telemetry.record import agent_entry, stage_record
    from speckit.telemetry.workflow import mark_line

    command = command_name(parse_stage(stage))
    folder = consensus_folder(evidence_root, spec_id)
    key = reserve_run(evidence_root, spec_id, stage, timestamp, session_id)
    synthesis = synthesis.model_copy(deep=True)
    synthesis.timestamp, synthesis.session_id = timestamp, session_id
    synthesis.prompt_version = prompt_version
    by_agent = {r.agent: r for r in results}
    paths = BundlePaths(folder=folder, key=key)
    entries: list[dict[str, Any]] = []
    judged = {s.agent for s in synthesis.agents}
    # Agents outside the verdict (the arbiter) still spent tokens: record them too.
    extra = [_summary_of(r) for r in results if r.agent not in judged]
    for summary in [*synthesis.agents, *extra]:
        agent = check_agent_name(summary.agent)
        result = by_agent.get(agent)
        answer = folder / bundle_file(command, key, agent)
        stub = _answer_or_stub(result, agent, spec_id, command, summary.status, summary.reason)
        atomic_write_json(answer, stub, inside=evidence_root)
        entry = agent_entry(summary, result, _relative(answer, evidence_root))
        metrics = folder / bundle_file(command, key, f"{agent}_metrics")
        atomic_write_json(metrics, _with_source(entry, result), inside=evidence_root)
        paths.agents[agent], paths.metrics[agent] = answer, metrics
        entries.append(entry)
    paths.synthesis = folder / bundle_file(command, key, "synthesis")
    atomic_write_json(paths.synthesis, synthesis.to_json(), inside=evidence_root)
    if telemetry_enabled:
        paths.telemetry = folder / bundle_file(command, key, "telemetry", "jsonl")
        artifacts = [_relative(p, evidence_root) for p in (*paths.agents.values(), paths.synthesis)]
        record = mark_line(stage_record(synthesis, entries, artifacts, key, guardrail), spec_id)
        append_line(paths.telemetry, record, inside=evidence_root)
        after_line(evidence_root, paths.telemetry, record)  # live OpenTelemetry, if configured
    (folder / f".{command}_{key}.claim").unlink(missing_ok=True)
    return paths
