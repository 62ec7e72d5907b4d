"""Write one stage run's evidence bundle and find the newest synthesis (design §5).

Layout: `consensus/<SPEC>/spec-<stage>_<key>_<agent>.json` (answer or error
stub), `..._<agent>_metrics.json`, `..._synthesis.json` and one schema-v2 line
appended to `..._telemetry.jsonl`. JSON files are written atomically; the
synthesis is written after every agent file, so a synthesis on disk means a
complete bundle.

Two runs of one SPEC and stage in the same second both land: the second
claims `<timestamp>-2` (then `-3`, …) through an exclusive claim file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.errors import SpeckitError
from speckit.evidence.naming import bundle_file, is_timestamp, parse_name
from speckit.fsutil import atomic_write_json, check_inside, make_folder

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.synthesis import AgentSummary, Synthesis

CONSENSUS_DIR = "consensus"
_MAX_SAME_SECOND = 999


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


def consensus_folder(evidence_root: Path, spec_id: str) -> Path:
    from speckit.specs.ids import check_spec_id

    return evidence_root / CONSENSUS_DIR / check_spec_id(spec_id)


def _command(stage: str) -> str:
    from speckit.stages import command_name, parse_stage

    return command_name(parse_stage(stage))


def _taken(folder: Path, command: str, key: str) -> bool:
    prefix = f"{command}_{key}_"
    for path in folder.glob(f"{prefix}*"):
        name = parse_name(path.name)
        if name is not None and name.key == key and name.kind != "raw":
            return True
    return False


def reserve_run(
    evidence_root: Path, spec_id: str, stage: str, timestamp: str, session_id: str
) -> str:
    """Claim the run key for `timestamp` (or `timestamp-N` if taken); idempotent per session."""
    if not is_timestamp(timestamp):
        raise SpeckitError(f"timestamp {timestamp!r} is not UTC YYYY-MM-DDTHH:MM:SSZ")
    folder = make_folder(evidence_root, consensus_folder(evidence_root, spec_id))
    command = _command(stage)
    for seq in range(1, _MAX_SAME_SECOND + 1):
        key = timestamp if seq == 1 else f"{timestamp}-{seq}"
        claim = folder / f".{command}_{key}.claim"
        try:
            fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            try:
                if claim.read_text(encoding="utf-8") == session_id:
                    return key  # claimed earlier by this same run
            except OSError:
                pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(session_id)
        if _taken(folder, command, key):  # an earlier run finished and released its claim
            claim.unlink(missing_ok=True)
            continue
        _refuse_planted_links(evidence_root, folder, command, key)
        return key
    raise SpeckitError(
        f"{_MAX_SAME_SECOND} runs of {command} {spec_id} at {timestamp}: refusing more"
    )


def _refuse_planted_links(evidence_root: Path, folder: Path, command: str, key: str) -> None:
    """The agents write their raw output under this key: no name of it may be a symlink."""
    for path in folder.glob(f"{command}_{key}_*"):
        try:
            check_inside(evidence_root, path)
        except SpeckitError:
            (folder / f".{command}_{key}.claim").unlink(missing_ok=True)
            raise


def clear_stale_claims(evidence_root: Path, spec_id: str, stage: str) -> list[Path]:
    """Remove the claims a killed run of this stage left behind; returns what was removed.

    Call only while holding the stage's run lock: no other live run of this stage can
    exist then, so every claim of it belongs to a run that died (SIGKILL, power loss).
    """
    folder = consensus_folder(evidence_root, spec_id)
    stale = sorted(folder.glob(f".{_command(stage)}_*.claim")) if folder.is_dir() else []
    for claim in stale:
        claim.unlink(missing_ok=True)
    return stale


def release_run(evidence_root: Path, spec_id: str, stage: str, key: str) -> None:
    """Give up a key from `reserve_run` when the run ends without a bundle (cancel, crash)."""
    claim = consensus_folder(evidence_root, spec_id) / f".{_command(stage)}_{key}.claim"
    claim.unlink(missing_ok=True)


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
    from speckit.consensus.synthesis import AgentSummary

    return AgentSummary(
        agent=result.agent,
        role=result.role,
        driver=result.driver,
        model=result.model,
        status=result.status,
        valid=result.status == "ok",
        reason=result.error,
        total_tokens=result.usage.total_tokens,
        latency_ms=result.latency_ms,
        cost_usd=result.cost_usd,
        cost_source=result.cost_source,
    )


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
    from speckit.telemetry.record import agent_entry, stage_record

    command = _command(stage)
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
        record = stage_record(synthesis, entries, artifacts, key, guardrail)
        append_line(paths.telemetry, record, inside=evidence_root)
    (folder / f".{command}_{key}.claim").unlink(missing_ok=True)
    return paths


def synthesis_files(evidence_root: Path, spec_id: str, stage: str) -> list[tuple[str, Path]]:
    """(key, path) of every synthesis of a SPEC's stage, oldest first."""
    folder = consensus_folder(evidence_root, spec_id)
    command = _command(stage)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"{command}_*_synthesis.json"):
        name = parse_name(path.name)
        if name is not None and name.kind == "synthesis" and name.command == command:
            found.append((name.sort_key, name.key, path))
    return [(key, path) for _order, key, path in sorted(found)]


def read_synthesis(path: Path) -> dict[str, Any]:
    """A synthesis file's JSON; SpeckitError (exit 1) when it is unreadable or malformed."""
    from speckit.placeholders import filled_placeholders

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise SpeckitError(f"{path}: unreadable synthesis: {exc}") from None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "degraded", "conflict"):
        raise SpeckitError(f"{path}: not a synthesis (no status ok/degraded/conflict)")
    found = filled_placeholders(data)  # speckit's own fields: agents may quote `${…}`
    if found:
        raise SpeckitError(
            f"{path}: malformed synthesis: unexpanded placeholders {', '.join(found)}"
        )
    return data


def latest_synthesis(
    evidence_root: Path, spec_id: str, stage: str
) -> tuple[Path, dict[str, Any]] | None:
    """The newest synthesis of a SPEC's stage, with `override` filled from a human override.

    None when the stage never ran; SpeckitError when the newest one is unreadable.
    """
    from speckit.evidence.overrides import read_override

    files = synthesis_files(evidence_root, spec_id, stage)
    if not files:
        return None
    key, path = files[-1]
    data = read_synthesis(path)
    override = read_override(path.parent, data.get("stage", _command(stage)), key)
    if override is not None:
        data["override"] = override
    return path, data
