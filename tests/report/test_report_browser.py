"""The report in a real headless Chromium with the network cut off: it loads, its charts
are drawn, nothing logs an error, an agent's `<script>` stays text; screenshots are kept.

Chromium comes from the Debian packages (.ci/run installs it). Without it the tests skip,
except in CI, where a missing browser fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.report.conftest import SCRIPT_TAG, TEXTAREA, Reported
from tests.report.pages import Page, bars, figure

ARTIFACTS = REPO_ROOT / "docs" / "artifacts"  # gitignored: CI keeps them
README_SHOT = REPO_ROOT / "docs" / "report.png"  # SPECKIT_UPDATE_SCREENSHOTS=1 rewrites it
CHARTS = (
    "cost-by-stage",
    "tokens-by-stage",
    "cost-by-agent",
    "tokens-by-agent",
    "latency-by-agent",
    "spend-over-time",
    "verdicts-over-time",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed, and CI must run the browser tests (.ci/run)")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI runs these tests")


def _browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium on the page with no network: names resolve nowhere, the proxy is closed."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _console(stderr: str) -> list[str]:
    """Console messages Chromium logged for the page (errors, CSP refusals)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]


def test_spec_page_renders_offline_with_its_charts(demo: Reported, tmp_path: Path) -> None:
    done = _browse(demo.page(), tmp_path, "--dump-dom")
    dom = done.stdout
    assert _console(done.stderr) == []
    assert f"<title>speckit report: {demo.spec_id}</title>" in dom
    for name in CHARTS:
        assert "<svg" in figure(dom, name), name
    assert bars(figure(dom, "cost-by-stage")) >= 6 * 3  # a bar per stage and agent
    assert bars(figure(dom, "verdicts-over-time")) == 2  # the runs' day: ok and conflict


def test_workspace_page_renders_offline(demo: Reported, tmp_path: Path) -> None:
    done = _browse(demo.page("index"), tmp_path, "--dump-dom")
    assert _console(done.stderr) == []
    assert demo.spec_id in done.stdout
    for name in CHARTS:
        assert "<svg" in figure(done.stdout, name), name


def test_an_agents_script_does_not_run(hostile: Reported, tmp_path: Path) -> None:
    done = _browse(hostile.page(), tmp_path, "--dump-dom")
    dom = Page(done.stdout)
    assert f"speckit report: {hostile.spec_id}" in done.stdout  # the title is untouched
    assert "pwned" not in re.sub(r"<[^>]*>", "", done.stdout.split("</title>")[0])
    assert "PWNED" not in dom.text.replace(SCRIPT_TAG, "")
    assert "script" not in dom.tags and "img" not in dom.tags
    assert SCRIPT_TAG in dom.text and TEXTAREA in dom.text  # shown as text
    assert _console(done.stderr) == []


def test_screenshots(demo: Reported, tmp_path: Path) -> None:
    """Desktop and phone widths, kept in docs/artifacts/; docs/report.png on request."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "report-spec-1280.png": (demo.page(), "1280,2400"),
        "report-index-1280.png": (demo.page("index"), "1280,2000"),
        "report-spec-phone.png": (demo.page(), "390,2400"),
    }
    for name, (page, size) in shots.items():
        target = ARTIFACTS / name
        target.unlink(missing_ok=True)
        _browse(page, tmp_path, f"--screenshot={target}", f"--window-size={size}")
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert target.stat().st_size > 20_000  # a drawn page, not a blank one
    if os.environ.get("SPECKIT_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(ARTIFACTS / "report-spec-1280.png", README_SHOT)
