"""The SPEC's documents a stage leaves from its consensus: specify -> spec.md, plan -> plan.md,
tasks -> tasks.md.

The documents are the product a person reads and reviews; the evidence JSON is the proof.
After an `ok` verdict (or a human override that accepts the run) the stage's final answer
(the arbiter's ruling when it settled a conflict, else the aggregator's, else the first
valid answer) is rendered by `pipeline.document_text`, and `specs.generated` writes it
without overwriting a person's words, headed with the run it came from. Only
`docs/<SPEC>/` is written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.answers.schemas import check_answer
from speckit.pipeline.document_text import DOCUMENTS, Marks, Source

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.models import HumanOverride, Synthesis
    from speckit.pipeline.stage import StageRun
    from speckit.specs.generated import Written
    from speckit.workspace import Workspace


@dataclass(frozen=True)
class RunRef:
    """The run a document comes from, named in its header."""

    timestamp: str
    session_id: str
    prompt_version: str
    synthesis: str  # the synthesis file, relative to the workspace


def _final(synthesis: Synthesis, answers: Mapping[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(agent, role) of the answer the document is rendered from, or None when none is valid."""
    ruling = synthesis.arbiter
    if ruling is not None and ruling.resolved and ruling.agent in answers:
        return ruling.agent, "arbiter"
    valid = [a for a in synthesis.agents if a.valid and a.agent in answers]
    chosen = next((a for a in valid if a.role == "aggregator"), valid[0] if valid else None)
    return (chosen.agent, chosen.role) if chosen else None


def _spec_body(folder: Path) -> str:
    """The start of the SPEC's spec.md below speckit's header ("" when it cannot be read)."""
    from speckit.specs.generated import split_header

    try:
        with (folder / "spec.md").open(encoding="utf-8", errors="replace") as handle:
            return split_header(handle.read(65536))[1]
    except OSError:
        return ""


def _context(body: str) -> str:
    """spec.md's Context line: the one-line description `speckit new` wrote, kept by specify."""
    lines = body.splitlines()
    if "## Context" not in lines:
        return ""
    after = lines[lines.index("## Context") + 1 :]
    found = next((line.strip() for line in after if line.strip()), "")
    return "" if found.startswith("#") else found


def _title(body: str, spec_id: str) -> str:
    """The SPEC's title from the first heading of its spec.md ("# Spec: TITLE (ID)")."""
    first = next((line for line in body.splitlines() if line.startswith("#")), "")
    title = first.lstrip("#").strip().removeprefix("Spec:").strip()
    return title.removesuffix(f"({spec_id})").strip() or spec_id


def _templates(workspace: Workspace, name: str) -> tuple[str, ...]:
    """What an unfilled `name` may look like: the workspace's template as it is now, and
    speckit's own (the one a SPEC made before the workspace's copy changed was made from)."""
    from speckit.errors import SpeckitError
    from speckit.resources import read_data_text
    from speckit.specs.documents import document_template

    found = []
    with contextlib.suppress(SpeckitError, OSError):
        found.append(document_template(workspace, name))
    with contextlib.suppress(SpeckitError, OSError):
        found.append(read_data_text("templates", name))
    return tuple(found)


def write_documents(
    workspace: Workspace,
    spec_id: str,
    stage: str,
    synthesis: Synthesis,
    answers: Mapping[str, dict[str, Any]],
    run: RunRef,
    *,
    overwrite: bool = False,
) -> list[Written]:
    """Write `stage`'s document when the verdict (after any human override) is ok; [] for a
    stage without a document, another verdict, or no valid answer to render."""
    from speckit.specs.documents import spec_dir
    from speckit.specs.generated import proposed_path, write_generated

    entry = DOCUMENTS.get(stage)
    final = _final(synthesis, answers) if entry else None
    if entry is None or final is None or synthesis.effective_status != "ok":
        return []
    name, render = entry
    folder = spec_dir(workspace, spec_id)
    author, role = final
    spec_text = _spec_body(folder)
    source = Source(
        spec_id=spec_id,
        title=_title(spec_text, spec_id),
        synthesis=synthesis,
        answer=dict(answers[author]),
        author=author,
        role=role,
        marks=Marks(synthesis),
        evidence=run.synthesis,
        context=_context(spec_text) if stage == "specify" else "",
    )
    proposal = proposed_path(folder / name).name
    about = [
        f"written from the {stage} stage's consensus. Edit freely: speckit then keeps your",
        f"text and writes {proposal} beside it (run/auto --overwrite replaces it).",
        f"run: {run.timestamp}  session: {run.session_id}  prompt: {run.prompt_version}",
        f"synthesis: {run.synthesis}",
    ]
    if synthesis.override is not None:
        human = synthesis.override
        about.append(f"override: {human.verdict} by {human.who} at {human.when}")
    written = write_generated(
        workspace.root,
        folder / name,
        about,
        render(source),
        template=_templates(workspace, name),
        overwrite=overwrite,
    )
    return [written]


def _valid_answers(stage: str, results: Sequence[AgentResult]) -> dict[str, dict[str, Any]]:
    from speckit.consensus.synthesis import answer_of

    answers = {}
    for result in results:
        data = answer_of(result, stage) if result.status == "ok" else None
        if isinstance(data, dict) and check_answer(stage, data) is None:
            answers[result.agent] = data
    return answers


def write_run_documents(workspace: Workspace, run: StageRun, overwrite: bool) -> list[Written]:
    """The documents of a run that just finished (`pipeline.stage`)."""
    from speckit.workspace import relative

    if run.stage not in DOCUMENTS:
        return []
    ref = RunRef(
        run.timestamp,
        run.session_id,
        run.prompt_version,
        relative(run.bundle.synthesis, workspace.root),
    )
    answers = _valid_answers(run.stage, run.results)
    return write_documents(
        workspace, run.spec_id, run.stage, run.synthesis, answers, ref, overwrite=overwrite
    )


def write_overridden_documents(
    workspace: Workspace, spec_id: str, synthesis_path: Path, record: HumanOverride
) -> list[Written]:
    """The documents of a run a human override just accepted (`pipeline.override`): the
    synthesis and the agents' answers are read back from its evidence bundle."""
    from speckit.consensus.models import Synthesis
    from speckit.evidence.naming import bundle_file, parse_name
    from speckit.workspace import relative

    name = parse_name(synthesis_path.name)
    if name is None or name.stage not in DOCUMENTS:
        return []
    try:  # an earlier system's synthesis may not be speckit's shape: no document then
        text = synthesis_path.read_text(encoding="utf-8")
        synthesis = Synthesis.model_validate(json.loads(text))
    except (OSError, ValueError):
        return []
    synthesis.override = record
    answers: dict[str, dict[str, Any]] = {}
    agents = [a.agent for a in synthesis.agents if a.valid]
    if synthesis.arbiter is not None:
        agents.append(synthesis.arbiter.agent)
    for agent in agents:
        if "/" in agent or "\\" in agent or agent.startswith("."):  # names from a file on disk
            continue
        answer = synthesis_path.parent / bundle_file(name.command, name.key, agent)
        try:
            data = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and check_answer(name.stage, data) is None:
            answers[agent] = data
    ref = RunRef(
        synthesis.timestamp or name.key,
        synthesis.session_id,
        synthesis.prompt_version,
        relative(synthesis_path, workspace.root),
    )
    return write_documents(workspace, spec_id, name.stage, synthesis, answers, ref)
