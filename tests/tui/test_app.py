"""The TUI driven through Textual's pilot, headless, with scripted agents in a temp workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path

from speckit.tui.app import SpeckitApp
from speckit.tui.cells import RunCell
from tests.tui.helpers import SIZE, make_workspace, messages, run_command, submit, wait_for


def _consensus_files(root: Path, spec_id: str, pattern: str) -> list[Path]:
    return sorted((root / "evidence" / "consensus" / spec_id).glob(pattern))


def test_spec_plan_shows_verdict_agent_rows_and_paths(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            text = cell.plain
            assert text.splitlines()[0] == "› /spec-plan SPEC-KIT-005   ✔ ok"
            for agent in ("alpha", "beta", "boss"):
                row = next(line for line in text.splitlines() if line.startswith(agent))
                # status, model, tokens in/out, latency, cost, cost source
                assert row.split()[2:5] == ["✔", "ok", "scripted-1"], row
                assert "1200/340" in row and "$0.0125" in row and "reported" in row
            assert "Add a limiter" in text  # agreements
            synthesis = _consensus_files(workspace.root, spec_id, "spec-plan_*_synthesis.json")
            telemetry = _consensus_files(workspace.root, spec_id, "spec-plan_*_telemetry.jsonl")
            assert len(synthesis) == 1 and len(telemetry) == 1
            assert f"synthesis: {synthesis[0].relative_to(workspace.root)}" in text
            assert f"telemetry: {telemetry[0].relative_to(workspace.root)}" in text
            assert f"document:  docs/{spec_id}/plan.md" in text
            assert cell.paths == [synthesis[0], telemetry[0]]
            await pilot.press("ctrl+y")  # copy the newest run's paths
            assert app.clipboard == f"{synthesis[0]}\n{telemetry[0]}"
            app.copy_to_clipboard("")
            cell.focus()  # `c` on a focused cell copies that cell's paths
            await pilot.press("c")
            assert app.clipboard == f"{synthesis[0]}\n{telemetry[0]}"
            pane = app.query_one("#specs")
            # one line: id, then plan tasks implement validate audit unlock, then the title
            await wait_for(
                pilot,
                lambda: str(pane.get_option_at_index(0).prompt).startswith("KIT-005 ✔····· Add"),
            )

    asyncio.run(scenario())


def test_spec_auto_halts_on_conflict_and_shows_resume(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            cell = await run_command(pilot, "/spec-auto SPEC-KIT-005")
            text = cell.plain
            assert text.splitlines()[0] == "› /spec-auto SPEC-KIT-005   ✖ conflict"
            assert "plan SPEC-KIT-005-add-login-rate-limiting: ✔ ok" in text
            assert "tasks SPEC-KIT-005-add-login-rate-limiting: ✖ conflict" in text
            assert "PIPELINE HALTED  at tasks (exit 2)" in text
            assert "why:    conflict:" in text and "alpha wants redis, beta wants memory" in text
            # the SPEC by its unique short id, so the banner fits a narrow terminal
            assert "resume: /spec-auto SPEC-KIT-005 --from tasks" in text
            assert "shell:  speckit auto SPEC-KIT-005 --from tasks" in text
            assert "implement" not in text  # it stopped there
            assert "tracker: SPEC.md:" in text and "In Progress → Blocked" in text
            assert cell.has_class("halted")
            assert cell.report is not None and int(cell.report.exit_code) == 2
            pane = app.query_one("#specs")

            def spec_entry() -> str:
                return str(pane.get_option_at_index(0).prompt)

            await wait_for(pilot, lambda: "HALTED" in spec_entry())
            assert spec_entry() == "KIT-005 ✔✖···· ■ HALTED Add login rate limiting"
            assert "| Blocked |" in workspace.tracker_path.read_text()  # the halt moved the row

    asyncio.run(scenario())


def test_set_env_changes_what_the_next_run_records(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            first = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            assert len(_consensus_files(workspace.root, spec_id, "*_telemetry.jsonl")) == 1
            await submit(pilot, "/set-env SPEC_KIT_TELEMETRY_ENABLED=0")
            assert "SPEC_KIT_TELEMETRY_ENABLED=0" in messages(app)[-1].plain
            await submit(pilot, "/set-env HAL_SECRET_API_KEY=hunter2")
            await submit(pilot, "/set-env")
            listing = messages(app)[-1].plain.splitlines()
            assert listing[1:] == ["HAL_SECRET_API_KEY=••••••", "SPEC_KIT_TELEMETRY_ENABLED=0"]
            assert not any("hunter2" in m.plain for m in messages(app))
            second = await run_command(pilot, "/spec-plan SPEC-KIT-005")
            assert "telemetry: off" in second.plain
            assert "telemetry: off" not in first.plain
            assert len(_consensus_files(workspace.root, spec_id, "*_synthesis.json")) == 2
            assert len(_consensus_files(workspace.root, spec_id, "*_telemetry.jsonl")) == 1

    asyncio.run(scenario())


def test_bad_commands_give_one_line_errors_and_the_app_goes_on(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")
    bad = {
        "/bogus": "unknown command /bogus",
        "/spec-plan": "missing SPEC",
        "/spec-plan SPEC-KIT-005 --force": "unknown option '--force'",
        "/spec-auto SPEC-KIT-005 --from deploy": "unknown stage 'deploy'",
        "/spec-plan SPEC-KIT-999": "no SPEC SPEC-KIT-999",
        "/status SPEC-NOPE-1": "no SPEC SPEC-NOPE-1",
        "/set-env 9=x": "not a valid variable name",
        "hello": "commands start with '/'",
    }

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            for line, expected in bad.items():
                before = len(messages(app, "error"))
                await submit(pilot, line)
                await wait_for(pilot, lambda b=before: len(messages(app, "error")) > b)  # type: ignore[misc]
                error = messages(app, "error")[-1]
                assert error.plain.splitlines()[0] == f"› {line}"
                assert len(error.plain.splitlines()) == 2, error.plain
                assert expected in error.plain
            assert not any(isinstance(c, RunCell) for c in app.cells)
            assert app.is_running
            await submit(pilot, "/help")  # still answering
            assert "/spec-auto SPEC [--from STAGE] [FLAGS]" in messages(app)[-1].plain

    asyncio.run(scenario())


def test_new_status_and_evidence_stats(tmp_path: Path) -> None:
    workspace, _spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            await submit(pilot, '/new "Add an audit log"')
            await wait_for(pilot, lambda: "created docs/" in messages(app)[-1].plain)
            assert (workspace.root / "docs" / "SPEC-KIT-010-add-an-audit-log" / "spec.md").is_file()
            pane = app.query_one("#specs")
            await wait_for(pilot, lambda: pane.option_count == 2)
            await run_command(pilot, "/spec-plan SPEC-KIT-010")
            await submit(pilot, "/status")
            await wait_for(
                pilot, lambda: "SPEC-KIT-010-add-an-audit-log" in messages(app)[-1].plain
            )
            rows = messages(app)[-1].plain.splitlines()
            row = next(r for r in rows if r.startswith("SPEC-KIT-010"))
            assert "✔ ok" in row and "In Progress" in row  # the plan moved SPEC.md's row
            await submit(pilot, "/evidence-stats SPEC-KIT-010")
            await wait_for(pilot, lambda: messages(app)[-1].plain.startswith("› /evidence-stats"))
            assert "SPEC-KIT-010-add-an-audit-log:" in messages(app)[-1].plain
            assert "consensus" in messages(app)[-1].plain

    asyncio.run(scenario())


def test_history_and_tab_completion(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            line = app.query_one("#command")
            await wait_for(pilot, lambda: bool(app.spec_ids))
            await pilot.press(*"/spec-pl", "tab")
            assert line.value == "/spec-plan "
            await pilot.press("tab")
            assert line.value == f"/spec-plan {spec_id} "
            await pilot.press(*"--allow-c", "tab")
            assert line.value == f"/spec-plan {spec_id} --allow-conflict "
            line.value = ""
            await pilot.press(*"/spec-a", "tab")  # audit or auto: both shown
            assert "/spec-audit  /spec-auto" in str(app.query_one("#hint").render())
            line.value = ""
            await submit(pilot, "/help")
            await submit(pilot, "/status")
            await pilot.press("up")
            assert line.value == "/status"
            await pilot.press("up")
            assert line.value == "/help"
            await pilot.press("down", "down")
            assert line.value == ""

    asyncio.run(scenario())


def test_resume_after_a_halt_with_the_shown_command(tmp_path: Path) -> None:
    workspace, spec_id = make_workspace(tmp_path / "ws")

    async def scenario() -> None:
        app = SpeckitApp(workspace, env={})
        async with app.run_test(size=SIZE) as pilot:
            halted = await run_command(pilot, "/spec-auto SPEC-KIT-005")
            resume = next(
                line.removeprefix("resume: ")
                for line in halted.plain.splitlines()
                if line.startswith("resume: ")
            )
            # The user settles the disagreement (here: the script) and drops an agent
            # from the roster; both apply to the next run without restarting the TUI.
            script = workspace.root / "script.toml"
            text = script.read_text(encoding="utf-8")
            script.write_text(
                text.replace(
                    ', consensus = { conflicts = ["alpha wants redis, beta wants memory"] }', ""
                )
            )
            config = workspace.root / "speckit.toml"
            config.write_text(
                config.read_text().replace('"alpha", "beta", "boss"', '"alpha", "boss"')
            )
            done = await run_command(pilot, resume)
            assert done.plain.splitlines()[0] == f"› {resume}   ✔ ok"
            assert f"{spec_id}: pipeline completed from tasks" in done.plain
            assert not any(line.startswith("beta") for line in done.plain.splitlines())
            assert "unlock SPEC-KIT-005-add-login-rate-limiting: ✔ ok" in done.plain

    asyncio.run(scenario())
