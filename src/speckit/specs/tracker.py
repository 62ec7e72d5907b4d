"""The SPEC.md tracker: Markdown table parsing and row updates.

The table format is the earlier system's (11 columns, contract); parsing keeps
line numbers so the linter can point at the exact line.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from speckit.fsutil import read_text

TRACKER_HEADER: tuple[str, ...] = (
    "Order",
    "Task ID",
    "Title",
    "Status",
    "Owners",
    "PRD",
    "Branch",
    "PR",
    "Last Validation",
    "Evidence",
    "Notes",
)
STATUSES: tuple[str, ...] = ("Backlog", "In Progress", "In Review", "Blocked", "Done")

_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_NOT_SEPARATOR = re.compile(r"[^|:\-\s]")  # a character no separator line holds


@dataclass(frozen=True)
class TableRow:
    line: int  # 1-based line number in the file
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header_line: int
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    # Blank or text lines between rows, as (line, text): Markdown ends a table at such a
    # line, but the rows below it are still the tracker's, so they are read (and linted).
    stray: tuple[tuple[int, str], ...] = ()

    @property
    def last_line(self) -> int:
        return self.rows[-1].line if self.rows else self.header_line + 1

    def column(self, *names: str) -> int | None:
        """Index of the first column whose header is one of `names` (case-insensitive)."""
        wanted = [n.lower() for n in names]
        lowered = [h.lower() for h in self.header]
        for name in wanted:
            if name in lowered:
                return lowered.index(name)
        return None


def split_cells(line: str) -> tuple[str, ...]:
    """Cells of one Markdown table line; `\\|` stays inside a cell."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return tuple(cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(body))


def _is_separator(cells: tuple[str, ...]) -> bool:
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells)


def _starts_table(lines: list[str], index: int) -> bool:
    """A header line: a `|` line followed by a separator line."""
    next_line = lines[index + 1] if index + 1 < len(lines) else ""
    if _NOT_SEPARATOR.search(next_line):  # most lines: no need to split them into cells
        return False
    return lines[index].lstrip().startswith("|") and _is_separator(split_cells(next_line))


def parse_tables(text: str) -> list[Table]:
    """Every Markdown table (header line, separator line, rows) in `text`.

    A table's rows run until a heading, the next table or the end of the text: a stray
    line between rows (a note typed into the table) does not hide the rows after it.
    """
    lines = text.splitlines()
    tables: list[Table] = []
    index = 0
    while index < len(lines):
        if not _starts_table(lines, index):
            index += 1
            continue
        header, header_line = split_cells(lines[index]), index + 1
        rows: list[TableRow] = []
        stray: list[tuple[int, str]] = []
        pending: list[tuple[int, str]] = []
        index = end = index + 2
        while index < len(lines) and not lines[index].lstrip().startswith("#"):
            line = lines[index]
            if line.lstrip().startswith("|"):
                if _starts_table(lines, index):
                    break
                rows.append(TableRow(index + 1, split_cells(line)))
                stray += pending
                pending = []
                end = index + 1
            else:
                pending.append((index + 1, line))
            index += 1
        tables.append(Table(header_line, header, tuple(rows), tuple(stray)))
        index = end  # lines after the last row are looked at again for the next table
    return tables


def find_tracker_table(tables: list[Table]) -> Table | None:
    """The tracker table: the first whose header starts with Order | Task ID, else the first."""
    for table in tables:
        if table.header[:2] == TRACKER_HEADER[:2]:
            return table
    return tables[0] if tables else None


@dataclass(frozen=True)
class TrackerRow:
    """One tracker row by column name (cells past the 11th are ignored here)."""

    line: int
    order: str
    task_id: str
    title: str
    status: str
    owners: str
    prd: str
    branch: str
    pr: str
    last_validation: str
    evidence: str
    notes: str

    @classmethod
    def from_cells(cls, line: int, cells: tuple[str, ...]) -> TrackerRow:
        padded = (*cells, *([""] * (len(TRACKER_HEADER) - len(cells))))[: len(TRACKER_HEADER)]
        return cls(line, *padded)

    def prd_paths(self) -> list[str]:
        return [p.strip() for p in self.prd.split(",") if p.strip()]


def rows_by_spec(rows: list[TrackerRow]) -> dict[str, TrackerRow]:
    """Tracker rows keyed by SPEC id: the Task ID, or the docs/<id>/ folder a PRD points into.

    One rule for every reader and writer, so `speckit status` shows the row the pipeline moves.
    """
    by_spec: dict[str, TrackerRow] = {}
    for row in reversed(rows):  # the first matching row wins
        for prd in row.prd_paths():
            parts = prd.split("/")
            if len(parts) > 2 and parts[0] == "docs":
                by_spec[parts[1]] = row
    for row in reversed(rows):
        by_spec[row.task_id] = row
    return by_spec


def read_rows(path: Path) -> list[TrackerRow]:
    """The tracker rows of SPEC.md (empty if it has no table)."""
    table = find_tracker_table(parse_tables(read_text(path)))
    if table is None:
        return []
    return [TrackerRow.from_cells(row.line, row.cells) for row in table.rows]


def escape_cell(text: str) -> str:
    return text.replace("|", "\\|").strip()


def format_row(cells: list[str]) -> str:
    return "| " + " | ".join(escape_cell(c) for c in cells) + " |"


def check_tracker_table(path: Path) -> None:
    """Refuse (one line) a SPEC.md whose first table is missing or is not the tracker."""
    from speckit.errors import SpeckitError

    table = find_tracker_table(parse_tables(read_text(path)))
    if table is None:
        raise SpeckitError(f"{path} has no tracker table; see 'speckit lint {path}'")
    if table.header != TRACKER_HEADER:
        raise SpeckitError(
            f"{path}: the tracker table's header is not the 11-column one; "
            f"see 'speckit lint {path}'"
        )


@contextmanager
def tracker_lock(cache_dir: Path) -> Iterator[None]:
    """Exclusive lock on SPEC.md updates (read-modify-write) across processes."""
    from speckit.fsutil import open_inside

    lock = cache_dir / "locks" / "tracker.lock"  # cache_dir is <workspace>/.speckit
    fd = open_inside(cache_dir.parent, lock, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with os.fdopen(fd, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
        yield


def append_row(path: Path, cells: list[str]) -> int:
    """Add a row after the tracker table's last row; return the new row's line number.

    Keeps the file's line endings (CRLF stays CRLF) so the diff is one line.
    """
    from speckit.fsutil import atomic_write_text

    text = read_text(path)
    table = find_tracker_table(parse_tables(text))
    if table is None:
        from speckit.errors import SpeckitError

        raise SpeckitError(f"{path} has no tracker table; see 'speckit lint {path}'")
    newline = "\r\n" if b"\r\n" in path.read_bytes() else "\n"  # read_text folds CRLF
    lines = text.splitlines()
    insert_at = table.last_line  # 1-based last line == 0-based index after it
    lines.insert(insert_at, format_row(cells))
    atomic_write_text(path, newline.join(lines) + newline, inside=path.parent)
    return insert_at + 1


def next_order(rows: list[TrackerRow]) -> int:
    orders = [int(r.order) for r in rows if r.order.isdigit()]
    return max(orders, default=0) + 1


# speckit's own note in the Notes cell when a run halts; a later ok removes exactly this part
# and leaves whatever the person wrote after it.
_HALT_NOTE = re.compile(r"^speckit: halted at [\w-]+ \([^()|;]*\)(?:; |$)")
_LINE_BREAKS_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def halt_note(stage: str, why: str) -> str:
    """The note a halt leaves: `speckit: halted at plan (conflict)`."""
    return f"speckit: halted at {stage} ({why})"


def with_halt_note(notes: str, note: str | None) -> str:
    """`notes` with speckit's halt note replaced by `note` (None removes it); the rest stays."""
    rest = _HALT_NOTE.sub("", notes, count=1)
    if note is None:
        return rest
    return f"{note}; {rest}" if rest else note


def edit_row(text: str, line: int, values: Mapping[str, str]) -> str:
    """`text` with the cells named in `values` (tracker column names) replaced on `line`,
    a row of the tracker table (1-based, as `parse_tables` numbers it).

    Every other byte stays as it was: other rows, the text around the table, the line's own
    ending, and the spacing and escapes of the cells not named. A value is made one line
    (control characters and line breaks become spaces) and its `|` escaped. ValueError
    when the line is not an 11-cell row or an edited cell would not read back as written.
    """
    lines = text.splitlines(keepends=True)  # the same line breaks parse_tables counts
    if not 1 <= line <= len(lines):
        raise ValueError(f"line {line} is not in the text")
    raw = lines[line - 1]
    body = raw.splitlines()[0] if raw.splitlines() else ""
    ending = raw[len(body) :]
    parts = _UNESCAPED_PIPE.split(body)
    first = 1 if body.lstrip().startswith("|") else 0
    last = (
        len(parts) - 1
        if body.rstrip().endswith("|") and not body.rstrip().endswith("\\|")
        else len(parts)
    )
    if last - first != len(TRACKER_HEADER):
        raise ValueError(f"line {line} has {last - first} cells, expected {len(TRACKER_HEADER)}")
    expected = list(split_cells(body))
    for name, value in values.items():
        index = TRACKER_HEADER.index(name)
        clean = _LINE_BREAKS_OR_CONTROL.sub(" ", value).strip()
        parts[first + index] = f" {escape_cell(clean)} "
        expected[index] = clean
    new_body = "|".join(parts)
    if list(split_cells(new_body)) != expected:
        raise ValueError(f"line {line}: the new cells would not read back as written")
    lines[line - 1] = new_body + ending
    return "".join(lines)
