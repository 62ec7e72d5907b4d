"""`edit_row` and the halt note: one row's cells change, every other byte of SPEC.md stays."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speckit.specs.tracker import (
    TRACKER_HEADER,
    edit_row,
    find_tracker_table,
    format_row,
    halt_note,
    parse_tables,
    split_cells,
    with_halt_note,
)

HEADER = "| " + " | ".join(TRACKER_HEADER) + " |\n|" + " --- |" * len(TRACKER_HEADER) + "\n"
ROW_A = (
    r"|  1 | SPEC-KIT-005-a | Rate \| limit   | Backlog |  | docs/x/spec.md "
    "|  |  |  |  | keep  this |"
)
ROW_B = "| 2 | SPEC-KIT-010-b | Other | In Progress | Ana | | main | | 2025-01-02 | | x |"
TEXT = f"# Spec Tracker\n\nIntro text.\n\n{HEADER}{ROW_A}\n{ROW_B}\n\nAfter the table.\n"


def row_cells(text: str, line: int) -> tuple[str, ...]:
    return split_cells(text.splitlines()[line - 1])


def test_only_the_named_cells_change_and_the_rest_is_byte_identical() -> None:
    new = edit_row(TEXT, 7, {"Status": "In Progress", "Owners": "Ana"})
    old_lines, new_lines = TEXT.splitlines(keepends=True), new.splitlines(keepends=True)
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [6]
    # the cells not named keep their own spacing and escapes
    assert new_lines[6] == (
        r"|  1 | SPEC-KIT-005-a | Rate \| limit   | In Progress | Ana | docs/x/spec.md "
        "|  |  |  |  | keep  this |\n"
    )
    assert row_cells(new, 7)[2] == "Rate | limit"


def test_crlf_and_a_missing_final_newline_are_kept() -> None:
    text = TEXT.replace("\n", "\r\n").removesuffix("\r\n")
    new = edit_row(text, 8, {"Notes": "done"})
    assert new.count("\r\n") == text.count("\r\n") and not new.endswith("\n")
    assert new.replace("| done |", "| x |") == text


@pytest.mark.parametrize(
    ("value", "read_back"),
    [
        ("a | b", "a | b"),
        ("ends with a backslash \\", "ends with a backslash \\"),
        ("already \\| escaped", "already \\| escaped"),
        ("two\nlines\r\nand\u2028more", "two lines  and more"),
        ("tab\there\x00nul", "tab here nul"),
        ("  padded  ", "padded"),
    ],
)
def test_hostile_values_stay_in_their_cell(value: str, read_back: str) -> None:
    new = edit_row(TEXT, 8, {"Notes": value})
    assert len(new.splitlines()) == len(TEXT.splitlines())
    table = find_tracker_table(parse_tables(new))
    assert table is not None and [len(r.cells) for r in table.rows] == [11, 11]
    assert row_cells(new, 8)[10] == read_back


@pytest.mark.parametrize("line", [0, 1, 4, 10, 99])
def test_a_line_that_is_not_an_11_cell_row_is_refused(line: int) -> None:
    with pytest.raises(ValueError):
        edit_row(TEXT, line, {"Status": "Done"})


def test_a_short_row_is_refused() -> None:
    text = TEXT.replace(ROW_B, "| 2 | SPEC-KIT-010-b | Other | Done |")
    with pytest.raises(ValueError, match="4 cells, expected 11"):
        edit_row(text, 8, {"Status": "Done"})


def test_the_halt_note_comes_and_goes_leaving_the_persons_words() -> None:
    mine = "ask Ana; blocked on legal (maybe)"
    blocked = with_halt_note(mine, halt_note("plan", "conflict"))
    assert blocked == f"speckit: halted at plan (conflict); {mine}"
    again = with_halt_note(blocked, halt_note("validate", "degraded"))
    assert again == f"speckit: halted at validate (degraded); {mine}"  # replaced, not stacked
    assert with_halt_note(again, None) == mine
    assert with_halt_note(halt_note("plan", "guardrail failed"), None) == ""
    assert with_halt_note(mine, None) == mine
    # a person's text that merely mentions speckit is theirs
    assert with_halt_note("speckit: halted at lunch", None) == "speckit: halted at lunch"


cell_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20
)


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(cell_text, min_size=11, max_size=11),
    value=st.text(max_size=30),
    column=st.sampled_from(TRACKER_HEADER),
)
def test_any_row_any_value_reads_back_or_is_refused(
    cells: list[str], value: str, column: str
) -> None:
    row = format_row(cells)
    text = f"{HEADER}{row}\n{ROW_B}\n"
    try:
        new = edit_row(text, 3, {column: value})
    except ValueError:
        return  # refused: the caller leaves SPEC.md as it was
    old_lines, new_lines = text.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(new_lines) == len(old_lines)
    assert [a for a, b in zip(old_lines, new_lines, strict=True) if a != b] in ([], [old_lines[2]])
    before, after = split_cells(old_lines[2]), split_cells(new_lines[2])
    index = TRACKER_HEADER.index(column)
    assert after[:index] + after[index + 1 :] == before[:index] + before[index + 1 :]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="|:- \t\u00a0\u2003x\\", max_size=16))
def test_the_quick_separator_check_never_hides_a_separator(line: str) -> None:
    from speckit.specs.tracker import _NOT_SEPARATOR, _is_separator

    if _is_separator(split_cells(line)):
        assert not _NOT_SEPARATOR.search(line)
