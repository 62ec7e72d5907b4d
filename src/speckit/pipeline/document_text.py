"""What a SPEC document says: Markdown rendered from a run's consensus and final answer.

Pure text in, text out (`pipeline.documents` chooses the answer and writes the file): each
item marked with the agents that agreed on it (the synthesis' agreements), items one agent
alone raised in a section of their own, and conflicts an override or the arbiter settled
listed as decisions.

Answers are schema-valid but otherwise untrusted: every item is one line (white space
collapsed, `<` as an entity so no HTML comment can hide the rest), cut at `MAX_TEXT`
characters; table cells escape `\\` and `|`; sections keep `MAX_ITEMS` entries and say how
many were left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from speckit.answers.schemas import item_text
from speckit.consensus.items import normalise

if TYPE_CHECKING:
    from speckit.consensus.models import Synthesis

MAX_ITEMS = 500  # entries per section or table (the synthesis compares 500 items per agent)
MAX_TEXT = 500  # characters per item or table cell
MAX_LIST = 20  # elements of a list value shown in one cell
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MARKER = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_TASK_ID = re.compile(r"^\[?(T\d{1,5}(?:\.\d{1,3})?)\]?(?:\s*[:.)\-–—]\s*|\s+)(\S.*)$")
_ID_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


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
