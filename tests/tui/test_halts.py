"""Halts are actionable in the TUI: the CLI's run flags, /override, the next step, /new's hint.

Pilot tests on real workspaces of scripted agents (git repositories where a guardrail
needs one), at 80x24 and 120x40.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from textual.widgets import Input

from speckit.errors import UsageError
from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from speckit.tui.commands import Override, RunAuto, RunStage, parse_command
from tests.tui.helpers import make_workspace, messages, run_command, submit, wait_for

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
SHORT = "SPEC-KIT-005"


def _commit_all(root: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "work"], cwd=root, check=True)


def _screen(app: SpeckitApp) -> str:
    """The characters on the terminal now (what a user sees, scrolled as it is)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _spec_pane(app: SpeckitApp) -> str:
    pane = app.query_one("#specs")
    return str(pane.get_option_at_index(0).prompt)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_a_conflict_halt_says_what_to_do_and_the_override_settles_it(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")  # plan agrees, tasks conflicts

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=size) as pilot:
            cell = await run_command(pilot, f"/spec-auto {SHORT}")
            tasks = f"docs/{spec_id}/tasks.md"
            assert f"next:   settle the conflict in {tasks} (or plan.md), then resume" in cell.plain
            override = f'/override {SHORT} tasks --verdict ok --reason "…"'
            assert f"or:     {override}" in cell.plain
            assert f"resume: /spec-auto {SHORT} --from tasks" in cell.plain
            assert "nothing changed" not in cell.plain  # a first halt
            await pilot.pause(0.2)
            screen = _screen(app)  # the banner's head, reason and next step are on screen
            for shown in (
                "■ PIPELINE HALTED",
                "at tasks (exit",
                "why:    conflict",
                "next:   settle",
                "next:",
                "or:",
            ):
                assert shown in screen, screen

            again = await run_command(pilot, f"/spec-auto {SHORT}")  # nothing was edited
            assert "same:   nothing changed since the last halt at tasks: resuming would " in (
                again.plain
            )
            assert f"re-run the same inputs; edit {tasks} or override" in again.plain.replace(
                "\n", " "
            )

            await submit(pilot, override.replace("…", "memory is enough for one node"))
            await wait_for(pilot, lambda: "recorded" in messages(app)[-1].plain)
            done = messages(app)[-1].plain
            assert f"recorded  {spec_id} tasks: ok (was conflict) by t" in done
            assert "evidence  evidence/consensus/" in done and "_override.json" in done
            assert f"document:  {tasks}" in done  # the accepted run's tasks become the document
            overrides = list(
                (workspace.evidence_root / "consensus" / spec_id).glob("*_override.json")
            )
            assert len(overrides) == 1
            await wait_for(pilot, lambda: "HALTED" not in _spec_pane(app))  # the pane refreshed

    subprocess.run(["git", "init", "-q"], cwd=workspace.root, check=True)  # who: git's user
    subprocess.run(["git", "config", "user.name", "t"], cwd=workspace.root, check=True)
    asyncio.run(scenario())


def test_run_flags_reach_the_pipeline(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace, spec_id = make_workspace(root)
    _commit_all(root)
    (root / "script.toml").write_text((root / "script.toml").read_text() + "\n")  # dirty

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(120, 40)) as pilot:
            refused = await run_command(pilot, f"/spec-plan {SHORT}")
            assert "guardrail failed: clean-tree: 1 modified or staged tracked file(s): " in (
                refused.plain
            )
            assert "script.toml; commit or stash them" in refused.plain
            assert f"record: evidence/commands/{spec_id}/spec-plan_" in refused.plain

            allowed = await run_command(pilot, f"/spec-plan {SHORT} --allow-dirty --no-cache")
            assert allowed.plain.splitlines()[0].endswith("✔ ok"), allowed.plain

            # --allow-conflict goes on past the tasks conflict, as `speckit auto` does
            through = await run_command(pilot, f"/spec-auto {SHORT} --allow-dirty --allow-conflict")
            assert "PIPELINE HALTED" not in through.plain
            assert f"tasks {spec_id}: ✖ conflict" in through.plain
            assert f"unlock {spec_id}: ✔ ok" in through.plain

            await submit(pilot, f"/spec-auto {SHORT} --allow-everything")
            error = messages(app, "error")[-1].plain
            assert "/spec-auto: unknown option '--allow-everything'; accepted: --from, " in error
            assert "--allow-degraded" in error and "--skip-consensus" in error

    asyncio.run(scenario())


def test_tab_completes_the_flags_and_the_override(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(80, 24)) as pilot:
            line = app.query_one("#command", Input)
            await wait_for(pilot, lambda: bool(app.spec_ids))
            line.value = f"/spec-auto {spec_id} --allow-deg"
            line.cursor_position = len(line.value)
            await pilot.press("tab")
            assert line.value == f"/spec-auto {spec_id} --allow-degraded "
            line.value = ""
            await pilot.press(*"/over", "tab", "tab", *"ta", "tab", *"--v", "tab", "o", "tab")
            assert line.value == f"/override {spec_id} tasks --verdict ok "

    asyncio.run(scenario())


def test_the_next_step_after_new_works_in_a_git_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace, _spec_id = make_workspace(root)
    _commit_all(root)

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=(80, 24)) as pilot:
            await submit(pilot, '/new "Export reports as CSV"')
            await wait_for(pilot, lambda: "created docs/" in messages(app)[-1].plain)
            hint = messages(app)[-1].plain.replace("\n", " ")
            suggested = hint.split(", then ", 1)[1].strip()
            assert suggested.startswith("/spec-plan SPEC-KIT-")
            cell = await run_command(pilot, suggested)
            assert isinstance(cell, RunCell)
            assert cell.plain.splitlines()[0].endswith("✔ ok"), cell.plain

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("line", "accepted"),
    [
        (f"/spec-plan {SHORT} --allow-degraded", "--allow-conflict, --allow-dirty, --no-cache"),
        (f"/spec-auto {SHORT} --env A=1", "--from, --allow-conflict, --allow-degraded"),
        (f"/override {SHORT} plan --why x", "--verdict, --reason"),
    ],
)
def test_an_unknown_flag_is_one_line_naming_the_accepted_ones(line: str, accepted: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(line)
    assert accepted in caught.value.message and "\n" not in caught.value.message


def test_flags_mean_what_the_cli_flags_mean() -> None:
    auto = parse_command(f"/spec-auto {SHORT} --from=tasks --allow-degraded --no-cache --commit")
    assert auto == RunAuto(SHORT, "tasks", allow_degraded=True, cache=False, commit=True)
    stage = parse_command(f"/spec-plan {SHORT} --allow-dirty --overwrite --no-commit")
    assert stage == RunStage("plan", SHORT, allow_dirty=True, overwrite=True, commit=False)
    with pytest.raises(UsageError, match="--commit and --no-commit exclude each other"):
        parse_command(f"/spec-plan {SHORT} --commit --no-commit")
    override = parse_command(f'/override {SHORT} plan --verdict=ok --reason "settled: memory"')
    assert override == Override(SHORT, "plan", "ok", "settled: memory")
    with pytest.raises(UsageError, match="--verdict must be one of ok, degraded, conflict"):
        parse_command(f"/override {SHORT} plan --verdict maybe --reason x")
    with pytest.raises(UsageError, match="missing --reason"):
        parse_command(f"/override {SHORT} plan --verdict ok")
