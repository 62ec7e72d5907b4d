"""Re-apply speckit's verdict rules to bundles already on disk (speckit's or the earlier system's).

It reads evidence files and calls the synthesis, so it lives in evidence (a layer above consensus).

The per-agent files hold an agent's parsed answer or an error stub, not an
`AgentResult`; `bundle_results` turns them (with their `_metrics.json`) back
into results that `synthesize` can judge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from speckit.agents.result import AgentResult, AgentStatus, FailureKind, Usage
from speckit.answers.schemas import REQUIRED_FIELD, required_value
from speckit.consensus.arbiter import apply_arbiter
from speckit.consensus.models import Synthesis
from speckit.consensus.synthesis import synthesize
from speckit.evidence.naming import EvidenceName, key_order, parse_name
from speckit.numbers import count_or_none, count_or_zero, is_number


@dataclass
class BundleFiles:
    folder: Path
    command: str
    key: str
    agents: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Path] = field(default_factory=dict)
    synthesis: Path | None = None

    @property
    def stage(self) -> str:
        return self.command.removeprefix("spec-")


@dataclass
class Verdict:
    bundle: BundleFiles
    synthesis: Synthesis
    recorded_status: str | None  # what the bundle's own synthesis said
    recorded_problem: str | None  # why that synthesis cannot be trusted, if so


def find_bundles(root: Path) -> list[BundleFiles]:
    """Every bundle under `root` (searched recursively): per folder, oldest run first."""
    bundles: dict[tuple[Path, str, str], BundleFiles] = {}
    for path in sorted(root.rglob("spec-*.json")):
        name = parse_name(path.name)
        if name is None or name.kind in ("raw", "override", "telemetry"):
            continue
        if name.stage not in REQUIRED_FIELD:
            continue
        entry = bundles.setdefault(
            (path.parent, name.command, name.key), BundleFiles(path.parent, name.command, name.key)
        )
        _add(entry, name, path)
    return sorted(bundles.values(), key=lambda b: (str(b.folder), key_order(b.key), b.command))


def _add(entry: BundleFiles, name: EvidenceName, path: Path) -> None:
    if name.kind == "synthesis":
        entry.synthesis = path
    elif name.kind == "metrics" and name.agent:
        entry.metrics[name.agent] = path
    elif name.kind == "agent" and name.agent:
        entry.agents[name.agent] = path


def _load(path: Path | None) -> tuple[Any, str | None]:
    if path is None:
        return None, None
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError) as exc:
        return None, f"unreadable {path.name}: {exc}"


def _failure(stated: str) -> AgentStatus:
    """A recorded failure status as an AgentStatus (the earlier system wrote "error")."""
    for status in get_args(AgentStatus):
        if status == stated and status != "ok":
            return status  # type: ignore[no-any-return]
    return "failed"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind_or_none(value: Any) -> FailureKind | None:
    for kind in get_args(FailureKind):
        if kind == value:
            return kind  # type: ignore[no-any-return]
    return None


def _result(
    stage: str, agent: str, answer_path: Path | None, metrics: dict[str, Any]
) -> AgentResult:
    """An AgentResult rebuilt from an answer file (or error stub) and its metrics."""
    usage = Usage(
        input_tokens=count_or_none(metrics.get("prompt_tokens")),
        output_tokens=count_or_none(metrics.get("completion_tokens")),
        reasoning_tokens=count_or_none(metrics.get("reasoning_tokens")),
        cache_read_tokens=count_or_none(metrics.get("cache_read_tokens")),
        cache_write_tokens=count_or_none(metrics.get("cache_write_tokens")),
        # as recorded, not recomputed
        provider_total_tokens=count_or_none(metrics.get("total_tokens")),
    )
    cost = metrics.get("cost_usd")
    common: dict[str, Any] = {
        "agent": agent,
        "driver": str(metrics.get("driver") or "recorded"),
        "model": str(metrics.get("model_id") or ""),
        "role": str(metrics.get("role") or "proposer"),
        "usage": usage,
        "latency_ms": count_or_zero(metrics.get("latency_ms")),
        "cost_usd": cost if is_number(cost) else None,
        # a fallback's call fills the slot it was recorded for, as it did in the run
        "substituted_for": _text_or_none(metrics.get("substituted_for")),
        "failure_kind": _kind_or_none(metrics.get("failure_kind")),
    }
    data, problem = _load(answer_path)
    metrics_status = str(metrics.get("status") or "")
    if answer_path is None:
        error = str(metrics.get("error") or "no answer file in the bundle")
        return AgentResult(**common, status=_failure(metrics_status), error=error)
    if problem is not None:
        return AgentResult(**common, status="invalid", error=problem)
    if isinstance(data, dict) and _is_stub(stage, data):
        status = _failure(str(data.get("status") or metrics_status))
        return AgentResult(**common, status=status, error=str(data.get("error") or status))
    parsed = data if isinstance(data, dict) else None
    text = "" if parsed is not None else json.dumps(data)
    return AgentResult(**common, status="ok", parsed=parsed, text=text)


def _is_stub(stage: str, data: dict[str, Any]) -> bool:
    """An error stub: carries an `error` and not the stage's required answer."""
    return bool(data.get("error")) and required_value(stage, data) is None


def bundle_results(bundle: BundleFiles) -> tuple[list[str], list[AgentResult]]:
    """(expected agents, results) of a bundle on disk."""
    recorded, _problem = _load(bundle.synthesis)
    expected = list(dict.fromkeys([*bundle.agents, *bundle.metrics]))
    if isinstance(recorded, dict) and isinstance(recorded.get("expected_agents"), list):
        expected = list(dict.fromkeys([*map(str, recorded["expected_agents"]), *expected]))
    results = []
    for agent in expected:
        metrics, _ = _load(bundle.metrics.get(agent))
        results.append(
            _result(
                bundle.stage,
                agent,
                bundle.agents.get(agent),
                metrics if isinstance(metrics, dict) else {},
            )
        )
    return expected, results


def _recorded(bundle: BundleFiles) -> tuple[str | None, str | None]:
    from speckit.placeholders import filled_placeholders

    if bundle.synthesis is None:
        return None, "no synthesis file"
    data, problem = _load(bundle.synthesis)
    if problem is not None or not isinstance(data, dict):
        return None, problem or "synthesis is not a JSON object"
    found = filled_placeholders(data)  # speckit's own fields, never the agents' words
    status = data.get("status")
    note = f"unexpanded placeholders {', '.join(found)}" if found else None
    return (str(status) if status is not None else None), note


def _arbiter(bundle: BundleFiles, results: list[AgentResult]) -> str | None:
    """The agent that ruled as arbiter in this run: named by the recorded synthesis, or
    recorded with the arbiter role, and never one of the stage's own agents."""
    recorded, _problem = _load(bundle.synthesis)
    voters: list[str] = []
    named = None
    if isinstance(recorded, dict):
        if isinstance(recorded.get("expected_agents"), list):
            voters = [str(agent) for agent in recorded["expected_agents"]]
        block = recorded.get("arbiter")
        if isinstance(block, dict) and isinstance(block.get("agent"), str):
            named = block["agent"]
    for result in results:
        if result.agent not in voters and (result.agent == named or result.role == "arbiter"):
            return result.agent
    return None


def _recorded_min_agreement(bundle: BundleFiles) -> float | None:
    """The `min_agreement` the run judged with (recorded in its synthesis): a conflict that came
    only from diverging proposals is found again, not re-judged as ok."""
    recorded, _problem = _load(bundle.synthesis)
    value = recorded.get("min_agreement") if isinstance(recorded, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def rejudge(root: Path, quorum: int = 2) -> list[Verdict]:
    """Judge every bundle under `root` by speckit's rules; an arbiter's ruling recorded in the
    bundle is applied after the verdict, as the run did (it is not one more voter)."""
    verdicts = []
    for bundle in find_bundles(root):
        expected, results = bundle_results(bundle)
        arbiter = _arbiter(bundle, results)
        voters = [r for r in results if r.agent != arbiter]
        expected = [agent for agent in expected if agent != arbiter]
        synthesis = synthesize(
            bundle.stage,
            bundle.folder.name,
            expected,
            voters,
            quorum=quorum,
            min_agreement=_recorded_min_agreement(bundle),
        )
        ruling = next((r for r in results if r.agent == arbiter), None)
        if ruling is not None:
            synthesis = apply_arbiter(synthesis, ruling)
        synthesis.timestamp = bundle.key.split("Z")[0] + "Z"
        recorded, problem = _recorded(bundle)
        verdicts.append(Verdict(bundle, synthesis, recorded, problem))
    return verdicts
