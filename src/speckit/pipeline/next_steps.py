"""What to do after a halt: which document to edit, which override, and whether a resume
would only repeat the halt.

Decided here, below the front ends, so `speckit auto` and the TUI's halt banner say the
same thing (each in its own command syntax). "Nothing changed" compares a hash of what the
halted stage's agents are given (their rendered prompts: the SPEC's documents, the product
documents, the template and its version, the roster) recorded in the pipeline state at a
halt with the same hash at the next halt of that stage. Equal hashes mean the resume re-ran
identical inputs; with the answer cache on it even got identical answers, so only an edit
or an override moves the SPEC on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from speckit.errors import SpeckitError

if TYPE_CHECKING:
    from speckit.stages import Stage
    from speckit.workspace import Workspace

# The SPEC documents a person edits to move a halted stage on: what the stage builds on.
HALT_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "specify": ("spec.md",),
    "plan": ("plan.md", "spec.md"),
    "tasks": ("tasks.md", "plan.md"),
    "implement": ("tasks.md",),
    "validate": ("tasks.md",),
    "audit": ("plan.md",),
    "unlock": ("tasks.md",),
}
# Halts a re-run of identical inputs does not cure (a degraded run re-asks its missing agents,
# a guardrail looks at the tree and the tracker, not only at the prompts).
REPEATING_KINDS = frozenset({"conflict", "reject"})
ELLIPSIS_REASON = '"…"'
_NUMBERED = re.compile(r"^SPEC-[A-Z][A-Z0-9]*-\d+")


def short_reference(workspace: Workspace, spec_id: str) -> str:
    """`SPEC-KIT-005` for `SPEC-KIT-005-add-login` when that prefix names only this SPEC
    (commands accept it), so the advice fits a narrow terminal; else the full id."""
    from speckit.specs.documents import resolve_spec

    match = _NUMBERED.match(spec_id)
    if match is None or match[0] == spec_id:
        return spec_id
    try:
        return match[0] if resolve_spec(workspace, match[0]) == spec_id else spec_id
    except SpeckitError:
        return spec_id


def override_command(spec_id: str, stage: str, *, slash: bool) -> str:
    """The override that accepts the halted run, as the user would type it."""
    head = "/override" if slash else "speckit consensus override"
    return f"{head} {spec_id} {stage} --verdict ok --reason {ELLIPSIS_REASON}"


def resume_slash(resume_command: str) -> str:
    """`speckit auto X --from plan` → `/spec-auto X --from plan` (same flags)."""
    return "/spec-auto " + resume_command.removeprefix("speckit auto ").strip()


@dataclass(frozen=True)
class NextSteps:
    """The advice for one halt; `lines()` words it for the CLI or the TUI."""

    spec_id: str
    stage: str
    kind: str  # conflict | degraded | reject | implement | guardrail
    resume_command: str  # the shell form, `speckit auto SPEC --from STAGE [flags]`
    checks: tuple[str, ...] = ()  # the failed guardrail checks
    unchanged: bool = False  # the same inputs as at the previous halt of this stage
    reference: str = ""  # how commands name the SPEC (`short_reference`); "" for the id

    @property
    def ref(self) -> str:
        return self.reference or self.spec_id

    def resume(self, *, slash: bool) -> str:
        """The resume command, with the SPEC named by `ref`."""
        command = self.resume_command.replace(f" {self.spec_id} ", f" {self.ref} ", 1)
        return resume_slash(command) if slash else command

    @property
    def documents(self) -> list[str]:
        """Workspace-relative SPEC documents worth editing, most relevant first."""
        return [f"docs/{self.spec_id}/{name}" for name in HALT_DOCUMENTS.get(self.stage, ())]

    def _edit(self) -> str:
        docs = self.documents
        return docs[0] + (f" (or {docs[1].rsplit('/', 1)[1]})" if len(docs) > 1 else "")

    def _action(self, resume: str) -> str:
        if self.kind == "conflict":
            return f"settle the conflict in {self._edit()}, then resume"
        if self.kind == "reject":
            if self.stage in ("validate", "audit", "unlock"):
                return f"fix the code or {self._edit()} as the reasons say, then resume"
            return f"answer the agents' reasons in {self._edit()}, then resume"
        if self.kind == "degraded":
            return "check the agents left out (speckit agents check), then resume: it asks again"
        if self.kind == "implement":
            return f"fix the failing tests' cause or {self._edit()}, then resume"
        if "clean-tree" in self.checks:
            return f"commit or stash them, then resume; or: {resume} --allow-dirty"
        if "budget" in self.checks:
            return "raise [budget] in speckit.toml (or wait for the period), then resume"
        if {"baseline", "tasks-lint"} & set(self.checks):
            return "fix what the check reports (the record lists each item), then resume"
        return "fix what the guardrail reports (read its record), then resume"

    def lines(self, *, slash: bool) -> list[tuple[str, str]]:
        """(label, text) pairs: `next` always, `or` an override, `same` when a resume repeats."""
        resume = self.resume(slash=slash)
        found = [("next", self._action(resume))]
        if self.kind not in ("guardrail", "implement"):  # a run of this stage to accept
            found.append(("or", override_command(self.ref, self.stage, slash=slash)))
        if self.unchanged and self.kind in REPEATING_KINDS:
            found.append(
                (
                    "same",
                    f"nothing changed since the last halt at {self.stage}: resuming would "
                    f"re-run the same inputs; edit {self.documents[0]} or override",
                )
            )
        return found


def stage_inputs_digest(workspace: Workspace, spec_id: str, stage: Stage) -> str | None:
    """sha256 of the prompts the stage's agents are given now (None when they cannot be
    rendered, e.g. a stage without agents: then nothing is claimed about a repeat)."""
    from speckit.prompts.context import build_context
    from speckit.prompts.render import render_prompt

    try:
        agents = workspace.config.stage_agents(stage)
        context = build_context(workspace, spec_id)
        digest = hashlib.sha256()
        for agent in agents:
            rendered = render_prompt(workspace, spec_id, stage, agent, context=context)
            digest.update(rendered.text.encode("utf-8", "surrogatepass") + b"\0")
    except (SpeckitError, OSError, KeyError, ValueError):
        return None
    return digest.hexdigest() if agents else None
