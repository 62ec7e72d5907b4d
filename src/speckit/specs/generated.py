"""Writing a document speckit generates (plan.md, tasks.md, later spec.md) without ever
overwriting a person's words.

A generated document starts with a header comment that names the run it came from and
ends with the sha256 of the text below the header. The record lives in the file, not in
`.speckit/`: that folder is a git-ignored cache, while the header travels with the
document through commits, clones and branch switches, so a teammate's clone still tells
speckit's text from a person's. Hashing only the text below the header means the header
can name the run (timestamp, session) that the hash itself cannot depend on.

Before writing, the file on disk is judged (`owner_of`):
- missing, blank, still equal to its template (never filled), or still hashing to its own
  header's sha256: speckit's, replaced;
- anything else (edited since, or written by hand): a person's; the new text goes to
  `<name>.proposed.md` beside it and the file is left alone, unless `overwrite`.

Every write is atomic and refused through a symlink (`fsutil`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

from speckit.fsutil import atomic_write_text, check_inside

HEADER_START = "<!-- speckit:"
HEADER_END = "-->"
_SHA_LINE = re.compile(r"^sha256: ([0-9a-f]{64})(?: |$)", re.M)

Owner = Literal["none", "template", "speckit", "person"]
Action = Literal["written", "proposed", "overwritten"]


@dataclass(frozen=True)
class Written:
    """Where a generated document went: `path` is the document itself, or its proposal."""

    document: Path
    path: Path
    action: Action

    @property
    def proposed(self) -> bool:
        return self.action == "proposed"

    def describe(self, root: Path) -> str:
        """The one line a command prints about it (the CLI and the TUI say the same)."""
        from speckit.workspace import relative

        shown, document = relative(self.path, root), relative(self.document, root)
        if self.action == "proposed":
            return (
                f"proposal:  {shown} ({document} was edited by hand and is left as it is; "
                "--overwrite replaces it)"
            )
        if self.action == "overwritten":
            return f"document:  {shown} (replaced a person's edits: --overwrite)"
        return f"document:  {shown}"


def proposed_path(document: Path) -> Path:
    """`plan.md` -> `plan.proposed.md`, beside it."""
    return document.with_name(f"{document.stem}.proposed{document.suffix}")


def body_hash(body: str) -> str:
    """sha256 of `body` with line endings made `\\n` (a checkout with CRLF is no edit)."""
    return hashlib.sha256(body.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def split_header(text: str) -> tuple[str | None, str]:
    """(the header's recorded sha256, the text below the header); (None, text) if none."""
    if not text.startswith(HEADER_START):
        return None, text
    end = text.find(HEADER_END)
    if end < 0:
        return None, text
    found = _SHA_LINE.search(text, 0, end)
    body = text[end + len(HEADER_END) :]
    body = body[2:] if body.startswith("\r\n") else body.removeprefix("\n")
    return (found.group(1) if found else None), body


def _comment_safe(line: str) -> str:
    """One header line that cannot end the comment early."""
    return " ".join(line.replace(">", "›").split())


def with_header(about: list[str], body: str) -> str:
    """`body` under a header comment holding `about` (one line each) and the body's sha256."""
    lines = [_comment_safe(line) for line in about]
    head = "\n".join([f"{HEADER_START} {lines[0] if lines else ''}".rstrip(), *lines[1:]])
    return f"{head}\nsha256: {body_hash(body)} {HEADER_END}\n{body}"


@functools.lru_cache(maxsize=16)
def _template_pattern(template: str) -> re.Pattern[str]:
    """`template` as a regular expression: each `$name` stands for any one-line text."""
    parts: list[str] = []
    last = 0
    for match in Template.pattern.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(re.escape("$") if match.group("escaped") is not None else r"[^\n]*")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def matches_template(text: str, template: str) -> bool:
    """Whether `text` is `template` with only its placeholders filled (white space at the
    ends and line endings aside): a document nobody has written in yet."""
    normal = text.replace("\r\n", "\n").strip()
    return _template_pattern(template.replace("\r\n", "\n").strip()).fullmatch(normal) is not None


def owner_of(path: Path, template: str | tuple[str, ...] | None = None) -> Owner:
    """Who wrote `path`: nobody (missing or blank), its template, speckit, or a person.

    Several templates may be given: a SPEC made before the workspace's template was edited
    still holds the template it was made from."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return "none"
    if not text.strip():
        return "none"
    recorded, body = split_header(text)
    if recorded is not None and recorded == body_hash(body):
        return "speckit"
    templates = (template,) if isinstance(template, str) else (template or ())
    if recorded is None and any(matches_template(text, each) for each in templates):
        return "template"
    return "person"


def write_generated(
    root: Path,
    document: Path,
    about: list[str],
    body: str,
    *,
    template: str | tuple[str, ...] | None = None,
    overwrite: bool = False,
) -> Written:
    """Write `body` (under a header of `about` lines) to `document`, or to its proposal when a
    person wrote `document` (module docstring). Only under `root`, never through a symlink."""
    check_inside(root, document)  # before reading it: nothing is read through a link either
    text = with_header(about, body)
    owner = owner_of(document, template)
    proposal = proposed_path(document)
    if owner == "person" and not overwrite:
        atomic_write_text(proposal, text, inside=root)
        return Written(document, proposal, "proposed")
    atomic_write_text(document, text, inside=root)
    check_inside(root, proposal)
    if owner_of(proposal) == "speckit":  # a stale proposal nobody touched: it is settled now
        proposal.unlink(missing_ok=True)
    return Written(document, document, "overwritten" if owner == "person" else "written")
