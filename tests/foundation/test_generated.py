"""`specs.generated`: speckit's documents never overwrite a person's words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from speckit.errors import WorkspaceError
from speckit.resources import read_data_text
from speckit.specs.generated import (
    matches_template,
    owner_of,
    proposed_path,
    split_header,
    with_header,
    write_generated,
)

ABOUT = ["written from the plan stage's consensus", "run: 2026-01-01T00:00:00Z"]


def test_header_records_the_hash_of_the_text_below_it(tmp_path: Path) -> None:
    text = with_header(ABOUT, "# Plan\n\n1. step\n")
    recorded, body = split_header(text)
    assert body == "# Plan\n\n1. step\n"
    assert recorded is not None and len(recorded) == 64
    path = tmp_path / "plan.md"
    path.write_text(text)
    assert owner_of(path) == "speckit"
    path.write_text(text.replace("1. step", "1. step, reworded by a person"))
    assert owner_of(path) == "person"


def test_crlf_checkout_is_not_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_bytes(with_header(ABOUT, "# Plan\n\n1. step\n").replace("\n", "\r\n").encode())
    assert owner_of(path) == "speckit"


def test_header_lines_cannot_close_the_comment_early() -> None:
    text = with_header(["a --> b", "line\nbreak"], "body\n")
    assert text.count("-->") == 1
    assert split_header(text)[1] == "body\n"


def test_missing_blank_template_and_hand_written(tmp_path: Path) -> None:
    template = read_data_text("templates", "plan.md")
    path = tmp_path / "plan.md"
    assert owner_of(path, template) == "none"
    path.write_text("  \n")
    assert owner_of(path, template) == "none"
    filled = template.replace("$title", "Rate limit login").replace("$spec_id", "SPEC-KIT-005-x")
    path.write_text(filled)
    assert owner_of(path, template) == "template"
    path.write_text(filled.replace("1. \n", "1. Add the limiter\n"))
    assert owner_of(path, template) == "person"
    path.write_text("# My own plan\n")
    assert owner_of(path, template) == "person"


def test_template_placeholders_match_one_line_only() -> None:
    template = "# Plan: $title ($spec_id)\n\n## Work\n1. \n"
    assert matches_template("# Plan: A b c (SPEC-X-001)\n\n## Work\n1.\n", template)
    assert not matches_template("# Plan: A\nsmuggled line (SPEC-X-001)\n\n## Work\n1.\n", template)
    assert matches_template("cost $5\n", "cost $$5\n")


def test_person_keeps_file_and_gets_a_proposal(tmp_path: Path) -> None:
    document = tmp_path / "docs" / "SPEC-KIT-005-x" / "plan.md"
    document.parent.mkdir(parents=True)
    document.write_text("# A person's plan\n")
    done = write_generated(tmp_path, document, ABOUT, "# Plan\n")
    assert done.action == "proposed" and done.path == proposed_path(document)
    assert document.read_text() == "# A person's plan\n"
    assert split_header(done.path.read_text())[1] == "# Plan\n"
    again = write_generated(tmp_path, document, ABOUT, "# Plan v2\n", overwrite=True)
    assert again.action == "overwritten" and again.path == document
    assert split_header(document.read_text())[1] == "# Plan v2\n"
    assert not proposed_path(document).exists(), "the untouched stale proposal is removed"


def test_an_edited_proposal_is_kept(tmp_path: Path) -> None:
    document = tmp_path / "plan.md"
    document.write_text("mine\n")
    write_generated(tmp_path, document, ABOUT, "# Plan\n")
    proposal = proposed_path(document)
    proposal.write_text(proposal.read_text() + "a note a person added\n")
    write_generated(tmp_path, document, ABOUT, "# Plan\n", overwrite=True)
    assert "a note a person added" in proposal.read_text()


def test_symlinked_document_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret\n")
    root = tmp_path / "ws"
    (root / "docs").mkdir(parents=True)
    document = root / "docs" / "plan.md"
    os.symlink(outside, document)
    with pytest.raises(WorkspaceError, match="symlink"):
        write_generated(root, document, ABOUT, "# Plan\n", overwrite=True)
    assert outside.read_text() == "secret\n"
    assert not proposed_path(document).exists()
