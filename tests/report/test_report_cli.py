"""`speckit report` as a user runs it: escaping of hostile answers, atomic writes, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_speckit
from tests.report.conftest import SCRIPT_TAG, TEXTAREA, Reported
from tests.report.pages import read


def test_hostile_answers_show_as_text_and_add_no_markup(hostile: Reported) -> None:
    html = hostile.page().read_text()
    page = read(hostile.page())
    assert SCRIPT_TAG in page.text and TEXTAREA in page.text  # shown, as the agent wrote it
    assert page.tags.count("script") == 0 and "img" not in page.tags and "textarea" not in page.tags
    assert "&lt;script&gt;document.title=" in html and "&lt;/textarea&gt;" in html
    assert 'onerror="document' not in html


def test_the_page_loads_nothing_from_elsewhere(demo: Reported) -> None:
    for page_path in (demo.page(), demo.page("index")):
        html = page_path.read_text()
        page = read(page_path)
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert not {"script", "link", "iframe", "img", "object"} & set(page.tags)
        assert not [h for h in page.hrefs if "//" in h]
        assert "@import" not in html and "url(" not in html
        style = html.split("<style>")[1].split("</style>")[0]
        assert '"Segoe UI"' in style and "&#34;" not in style  # the stylesheet is not escaped


def test_report_is_written_atomically(demo: Reported, tmp_path: Path) -> None:
    """A reader that opened the old page keeps reading it whole; the new one replaces it."""
    target = tmp_path / "out" / "page.html"
    target.parent.mkdir()
    target.write_text("old page\n" * 1000)
    with target.open() as reader:
        done = run_speckit("report", demo.spec_id, "-o", str(target), cwd=demo.root)
        assert done.returncode == 0, done.stderr
        assert reader.read() == "old page\n" * 1000
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert done.stdout.strip() == f"report: {target}"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]  # no temp file left
    # links are relative to where the page was written
    assert "../../" in target.read_text()


def test_bad_spec_is_one_line_and_writes_nothing(demo: Reported) -> None:
    for args, code in (
        (["SPEC-NOPE-999-missing"], 64),
        (["../../etc"], 64),
        ([demo.spec_id, demo.spec_id, "-o", "x.html"], 64),
    ):
        before = sorted((demo.root / "evidence" / "reports").iterdir())
        done = run_speckit("report", *args, cwd=demo.root)
        assert done.returncode == code, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("speckit: error: ")
        assert "Traceback" not in done.stderr
        assert sorted((demo.root / "evidence" / "reports").iterdir()) == before


def test_help_does_not_import_the_report_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "speckit", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] in ("pygal", "jinja2", "markupsafe")}
    assert "speckit.report" not in imported
    assert "report" in done.stdout
