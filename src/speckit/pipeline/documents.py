"""The SPEC's documents a stage leaves from its consensus: specify -> spec.md, plan -> plan.md,
tasks -> tasks.md.

The documents are the product a person reads and reviews; the evidence JSON is the proof.
After an `ok` verdict (or a human override that accepts the run) the stage's final answer
(the arbiter's ruling when it settled a conflict, else the aggregator's, else the first
valid answer) is rendered to Markdown, each item marked with the agents that agreed on it
(the synthesis' agreements), items one agent alone raised in a section of their own, and
conflicts an override or the arbiter settled listed as decisions. `specs.generated` writes
it without overwriting a person's words and heads it with the run it came from.

Answers are schema-valid but otherwise untrusted: every item is one line (white space
collapsed, `<` as an entity so no HTML comment can hide the rest), cut at `MAX_TEXT`
characters; table cells escape `\\` and `|`; sections keep `MAX_ITEMS` entries and say how
many were left out. Only `docs/<SPEC>/` is written.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speckit.answers.schemas import check_answer, item_text
from speckit.consensus.items import normalise

if TYPE_CHECKING:
    from speckit.agents.result import AgentResult
    from speckit.consensus.models import HumanOverride, Synthesis
    from speckit.pipeline.stage import StageRun
    from speckit.specs.generated import Written
    from speckit.workspace import Workspace

MAX_ITEMS = 500  # entries per section or table (the synthesis compares 500 items per agent)
MAX_TEXT = 500  # characters per item or table cell
MAX_LIST = 20  # elements of a list value shown in one cell
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MARKER = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_TASK_ID = re.compile(r"^\[?(T\d{1,5}(?:\.\d{1,3})?)\]?(?:\s*[:.)\-–—]\s*|\s+)(\S.*)$")
_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


@dataclass(frozen=True)
class RunRef:
    """The run a document comes from, named in its header."""

    timestamp: str
    session_id: str
    prompt_version: str
    synthesis: str  # the synthesis file, relative to the workspace


class Marks:
    """Who said an item: the agents of its agreement (`agreed: a, b`) or its one author.

    Looked up by the author's exact wording (the synthesis keeps each agent's); the
    normalised-text fallback (an arbiter's wording) is built only when first needed."""

    def __init__(self, synthesis: Synthesis) -> None:
        self.synthesis = synthesis
        self.by_wording: dict[tuple[str, str], list[str]] = {}
        for group in [*synthesis.agreements, *synthesis.partial]:
            for agent, wording in group.variants.items():
                self.by_wording[(agent, wording)] = group.agents
        for lone in synthesis.unique:
            self.by_wording[(lone.agent, lone.text)] = [lone.agent]
        self._by_key: dict[str, list[str]] | None = None

    @staticmethod
    def _key(text: str) -> str:
        return normalise(text[: MAX_TEXT * 4])  # bounded: a 5 MB item costs no more

    def _fallback(self, text: str) -> list[str] | None:
        if self._by_key is None:
            self._by_key = {}
            groups = [*self.synthesis.agreements, *self.synthesis.partial]
            for group in groups:
                for wording in (group.text, *group.variants.values()):
                    self._by_key.setdefault(self._key(wording), group.agents)
            for lone in self.synthesis.unique:
                self._by_key.setdefault(self._key(lone.text), [lone.agent])
        return self._by_key.get(self._key(text))

    def of(self, author: str, text: str) -> str:
        """`agreed: a, b`, `only: a`, or "" when the item was not compared (beyond the
        synthesis' item limit, or an arbiter's wording nobody used)."""
        agents = self.by_wording.get((author, text)) or self._fallback(text)
        if not agents:
            return ""
        return f"agreed: {', '.join(agents)}" if len(agents) > 1 else f"only: {agents[0]}"


@dataclass(frozen=True)
class Source:
    """What a document is rendered from: the run's consensus and its final answer."""

    spec_id: str
    title: str
    synthesis: Synthesis
    answer: dict[str, Any]
    author: str  # whose answer `answer` is
    role: str  # arbiter, aggregator or proposer
    marks: Marks
    evidence: str  # the synthesis file, for "see …" notes
    context: str = ""  # spec.md's Context line (the SPEC's one-line description)


# --- text that cannot break the document -------------------------------------------------


def _text(value: Any, depth: int = 0) -> str:
    """Any answer value as plain text: strings as they are, lists joined, objects as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list) and depth < 3:
        shown = [t for t in (_text(v, depth + 1) for v in value[:MAX_LIST]) if t]
        more = f" (+{len(value) - MAX_LIST} more)" if len(value) > MAX_LIST else ""
        return ", ".join(shown) + more
    try:
        return json.dumps(value, ensure_ascii=False)[: MAX_TEXT * 2]
    except (TypeError, ValueError, RecursionError):
        return "(unreadable value)"


def inline(value: Any, limit: int = MAX_TEXT) -> str:
    """One line of Markdown: control characters and white space collapsed, `<` as `&lt;`
    (no HTML: a stray `<!--` would hide the rest of the document), cut at `limit`."""
    raw = _text(value)
    flat = " ".join(_CONTROL.sub(" ", raw[: limit * 2]).split())
    if len(flat) > limit or len(raw) > limit * 2:
        flat = f"{flat[:limit].rstrip()} … (cut: {len(raw):,} characters in the answer)"
    return flat.replace("<", "&lt;")


def item(value: Any) -> str:
    """A list entry: one line without a list marker of its own, a leading `#` escaped."""
    text = _MARKER.sub("", inline(value))
    return ("\\" + text if text.startswith("#") else text) or "(empty)"


def cell(value: Any) -> str:
    """A table cell: one line, `\\` and `|` escaped so the row keeps its cells in any
    GitHub-flavoured Markdown reader and in `speckit lint`."""
    return inline(value).replace("\\", "\\\\").replace("|", "\\|")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _more(total: int, what: str, src: Source) -> list[str]:
    if total <= MAX_ITEMS:
        return []
    return ["", f"… {total - MAX_ITEMS:,} more {what} not shown: see {src.evidence}"]


def _pick(entry: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = entry.get(key)
        if value not in (None, "", []):
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- plan.md and tasks.md ------------------------------------------------------------------


def _consensus_line(src: Source, what: str) -> str:
    synthesis = src.synthesis
    valid = [a.agent for a in synthesis.agents if a.valid]
    line = f"{synthesis.status} ({len(valid)} of {len(synthesis.agents)} agents answered validly"
    if synthesis.override is not None:
        line += f"; accepted as {synthesis.override.verdict} by a human override"
    return f"{line}); final {what} by {src.author} ({src.role})"


def _decisions(synthesis: Synthesis) -> list[str]:
    """The conflicts a person's override or the arbiter settled, with who and why."""
    lines: list[str] = []
    ruling = synthesis.arbiter
    if ruling is not None and ruling.resolved:
        why = ruling.rationale or "no rationale given"
        for conflict in synthesis.conflicts[:MAX_ITEMS]:
            lines.append(f"- {item(conflict)}: settled by the arbiter {ruling.agent}: {item(why)}")
    human = synthesis.override
    if human is not None:
        by = f"by {item(human.who)}'s override on {item(human.when)}"
        change = f"{human.previous_status} → {human.verdict}"
        settled = [c for c in synthesis.conflicts if not (ruling and ruling.resolved)]
        for conflict in settled[:MAX_ITEMS]:
            lines.append(f"- {item(conflict)}: settled {by} ({change}): {item(human.reason)}")
        if not settled:
            lines.append(f"- verdict {change} {by}: {item(human.reason)}")
        for missing in synthesis.missing_agents[:MAX_ITEMS]:
            lines.append(f"  - accepted without {missing.agent}: {item(missing.reason)}")
    return lines


def _unique(src: Source) -> list[str]:
    unique = src.synthesis.unique
    lines = [f"- {item(u.text)} ({u.agent})" for u in unique[:MAX_ITEMS]]
    if src.synthesis.quorum <= 1:  # every item counts as an agreement then
        return lines or ["- (not told apart: with quorum 1 every item is an agreement)"]
    return lines or ["- (none: every item was shared by at least two agents)"]


def _tail(src: Source) -> list[str]:
    """The sections plan.md and tasks.md share: lone items, then decisions."""
    out = [
        "",
        "## Raised by one agent",
        "",
        *_unique(src),
        *_more(len(src.synthesis.unique), "items", src),
    ]
    decisions = _decisions(src.synthesis)
    if decisions:
        out += ["", "## Decisions", "", *decisions]
    return [*out, ""]


def render_plan(src: Source) -> str:
    plan = src.answer.get("final_plan")
    plan = plan if isinstance(plan, dict) else {}
    steps = _as_list(plan.get("work_breakdown"))
    out = [
        f"# Plan: {inline(src.title, 200)} ({src.spec_id})",
        "",
        "## Inputs",
        f"- Spec: docs/{src.spec_id}/spec.md",
        "- Constitution: memory/constitution.md",
        f"- Consensus: {_consensus_line(src, 'plan')}",
        "",
        "## Work Breakdown",
        "",
    ]
    for number, step in enumerate(steps[:MAX_ITEMS], 1):
        text = item_text("plan", step) or ""
        mark = src.marks.of(src.author, text)
        out.append(f"{number}. {item(text)}" + (f" — {mark}" if mark else ""))
    out += _more(len(steps), "steps", src)
    out += ["", "## Acceptance Mapping", ""]
    mapping = _as_list(plan.get("acceptance_mapping"))
    if mapping:
        rows = [_mapping_row(entry) for entry in mapping[:MAX_ITEMS]]
        header = ("Requirement (Spec)", "Validation Step", "Test/Check Artifact")
        out += [*_table(header, rows), *_more(len(mapping), "rows", src)]
    else:
        out.append("(the agents gave no acceptance mapping)")
    out += ["", "## Risks & Unknowns", ""]
    risks = _as_list(plan.get("risks"))
    out += [f"- {item(_risk(risk))}" for risk in risks[:MAX_ITEMS]] or ["- (none given)"]
    out += _more(len(risks), "risks", src)
    return "\n".join([*out, *_tail(src)])


def _mapping_row(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return [cell(entry), "", ""]
    requirement = _pick(entry, ("requirement", "req", "criterion", "acceptance_criterion", "id"))
    validation = _pick(entry, ("validation_step", "validation", "check", "test", "how"))
    artifact = _pick(
        entry, ("artifact", "test_artifact", "artifacts", "artifact_paths", "evidence")
    )
    if requirement is None and validation is None and artifact is None:
        return [cell(entry), "", ""]
    return [cell(requirement), cell(validation), cell(artifact)]


def _risk(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    risk = _pick(entry, ("risk", "description", "text", "title"))
    mitigation = _pick(entry, ("mitigation", "mitigations", "plan"))
    if risk is None:
        return entry
    return f"{_text(risk)} (mitigation: {_text(mitigation)})" if mitigation else risk


TASK_COLUMNS = (
    "Order",
    "Task ID",
    "Title",
    "Owner",
    "Status",
    "Files / Areas",
    "Validation",
    "Evidence",
    "Agreed",
)


def _task_id(task: Any) -> tuple[str | None, str]:
    """(the id the answer gives: `id`, or a leading `T3` in the text, if well formed; title)."""
    text = item_text("tasks", task) or ""
    given = (
        str(task.get("id") or task.get("task_id") or "").strip() if isinstance(task, dict) else ""
    )
    found = _TASK_ID.match(text)
    title = found.group(2) if found else text
    task_id = given or (found.group(1) if found else "")
    return (task_id if _ID_OK.fullmatch(task_id) else None), title


def _unique_ids(given: list[str | None], prefix: str = "T") -> list[str]:
    """The answer's ids where they are unique (first use wins), `T<order>` (or `T<order>-N`)
    elsewhere, never taking an id the answer gives a later task."""
    reserved = {task_id for task_id in given if task_id}
    used: set[str] = set()
    ids = []
    for order, task_id in enumerate(given, 1):
        if task_id is None or task_id in used:
            task_id, extra = f"{prefix}{order}", 1
            while task_id in used or task_id in reserved:
                extra += 1
                task_id = f"{prefix}{order}-{extra}"
        used.add(task_id)
        ids.append(task_id)
    return ids


def _task_row(order: int, task_id: str, title: str, task: Any, src: Source) -> list[str]:
    fields = task if isinstance(task, dict) else {}
    return [
        str(order),
        task_id,
        cell(title),
        cell(_pick(fields, ("owner", "owner_role", "role", "assignee"))),
        "Backlog",
        cell(_pick(fields, ("files", "areas", "paths", "area", "file"))),
        cell(_pick(fields, ("validation", "validation_step", "check", "test", "done_when"))),
        cell(_pick(fields, ("evidence", "artifact", "artifacts"))),
        src.marks.of(src.author, item_text("tasks", task) or ""),
    ]


def render_tasks(src: Source) -> str:
    tasks = _as_list(src.answer.get("validated_tasks"))[:MAX_ITEMS]
    named = [_task_id(task) for task in tasks]
    ids = _unique_ids([task_id for task_id, _title in named])
    rows = [
        _task_row(order, task_id, title, task, src)
        for order, (task_id, (_given, title), task) in enumerate(
            zip(ids, named, tasks, strict=True), 1
        )
    ]
    out = [
        f"# Tasks: {inline(src.title, 200)} ({src.spec_id})",
        "",
        f"Consensus: {_consensus_line(src, 'task list')}. Every task starts in Backlog; "
        "move it as the work goes (In Progress, In Review, Blocked, Done).",
        "",
        *_table(TASK_COLUMNS, rows),
        *_more(len(_as_list(src.answer.get("validated_tasks"))), "tasks", src),
    ]
    return "\n".join([*out, *_tail(src)])


REQUIREMENT_COLUMNS = ("ID", "Requirement", "Acceptance Criteria", "Agreed")
_REQ_ID = re.compile(r"^\[?(R\d{1,5}(?:\.\d{1,3})?)\]?(?:\s*[:.)\-–—]\s*|\s+)(\S.*)$")


def _requirement_row(order: int, entry: Any, src: Source) -> tuple[str | None, list[str]]:
    """(the id the answer gives, if well formed; the row, its id cell filled later)."""
    text = item_text("specify", entry) or ""
    fields = entry if isinstance(entry, dict) else {}
    found = _REQ_ID.match(text)
    given = str(fields.get("id") or "").strip() or (found.group(1) if found else "")
    title = found.group(2) if found and not fields.get("id") else text
    criteria = _pick(fields, ("acceptance_criteria", "acceptance", "criteria", "done_when"))
    mark = src.marks.of(src.author, text)
    return (given if _ID_OK.fullmatch(given) else None), ["", cell(title), cell(criteria), mark]


def render_spec(src: Source) -> str:
    spec = src.answer.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    requirements = _as_list(spec.get("requirements"))
    built = [_requirement_row(n, r, src) for n, r in enumerate(requirements[:MAX_ITEMS], 1)]
    ids = _unique_ids([given for given, _row in built], prefix="R")
    rows = [[req_id, *row[1:]] for req_id, (_given, row) in zip(ids, built, strict=True)]
    problem = inline(spec.get("problem")) if spec.get("problem") else "(the agents gave none)"

    def bullets(key: str, empty: str) -> list[str]:
        values = _as_list(spec.get(key))
        lines = [f"- {item(v)}" for v in values[:MAX_ITEMS]] or [f"- ({empty})"]
        return [*lines, *_more(len(values), key.replace("_", " "), src)]

    out = [
        f"# Spec: {inline(src.title, 200)} ({src.spec_id})",
        "",
        f"Consensus: {_consensus_line(src, 'spec')}.",
        "",
        "## Context",
        inline(src.context) or "(none)",
        "",
        "## Problem",
        problem,
        "",
        "## User Needs",
        *bullets("user_needs", "none given"),
        "",
        "## Requirements",
        "",
        *_table(REQUIREMENT_COLUMNS, rows),
        *_more(len(requirements), "requirements", src),
        "",
        "## Non-Goals",
        *bullets("non_goals", "none given"),
        "",
        "## Open Questions",
        *bullets("open_questions", "none"),
    ]
    return "\n".join([*out, *_tail(src)])


DOCUMENTS: dict[str, tuple[str, Callable[[Source], str]]] = {
    "specify": ("spec.md", render_spec),
    "plan": ("plan.md", render_plan),
    "tasks": ("tasks.md", render_tasks),
}


# --- choosing the answer and writing -------------------------------------------------------


def _final(synthesis: Synthesis, answers: Mapping[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(agent, role) of the answer the document is rendered from, or None when none is valid."""
    ruling = synthesis.arbiter
    if ruling is not None and ruling.resolved and ruling.agent in answers:
        return ruling.agent, "arbiter"
    valid = [a for a in synthesis.agents if a.valid and a.agent in answers]
    chosen = next((a for a in valid if a.role == "aggregator"), valid[0] if valid else None)
    return (chosen.agent, chosen.role) if chosen else None


def _context(folder: Path) -> str:
    """spec.md's Context line: the one-line description `speckit new` wrote, kept by specify."""
    from speckit.specs.generated import split_header

    try:
        with (folder / "spec.md").open(encoding="utf-8", errors="replace") as handle:
            _sha, body = split_header(handle.read(65536))
    except OSError:
        return ""
    lines = body.splitlines()
    if "## Context" not in lines:
        return ""
    after = lines[lines.index("## Context") + 1 :]
    found = next((line.strip() for line in after if line.strip()), "")
    return "" if found.startswith("#") else found


def _title(folder: Path, spec_id: str) -> str:
    """The SPEC's title from the first heading of its spec.md ("# Spec: TITLE (ID)")."""
    from speckit.specs.generated import split_header

    try:
        with (folder / "spec.md").open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(8192)
    except OSError:
        return spec_id
    _sha, body = split_header(head)
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
    source = Source(
        spec_id=spec_id,
        title=_title(folder, spec_id),
        synthesis=synthesis,
        answer=dict(answers[author]),
        author=author,
        role=role,
        marks=Marks(synthesis),
        evidence=run.synthesis,
        context=_context(folder) if stage == "specify" else "",
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
