"""The evidence index behind `speckit status` stays true to the files: an incremental
refresh gives what a rebuild from scratch gives, and a file added or removed under a SPEC's
evidence folder is seen by the next status."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from speckit.evidence.index import EvidenceIndex
from tests.conftest import CliRunner
from tests.pipeline.conftest import ScriptedWorkspace

TABLES = ("files", "runs", "agent_calls", "guardrails", "spend", "pipeline", "folders")


def status_json(cli: CliRunner, scripted: ScriptedWorkspace) -> list[dict[str, object]]:
    result = cli("status", "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def table_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db) as connection:
        return {t: sorted(connection.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES}


def test_incremental_index_equals_a_rebuild(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    first = status_json(cli, scripted)  # the index now holds the plan run
    scripted.commit()
    assert cli("auto", scripted.spec_id, cwd=scripted.root).returncode == 0
    refreshed = status_json(cli, scripted)  # folders rescanned incrementally
    db = scripted.root / ".speckit" / "index.db"
    incremental = table_rows(db)
    EvidenceIndex(scripted.workspace.evidence_root, db).rebuild().close()
    assert table_rows(db) == incremental
    assert status_json(cli, scripted) == refreshed
    assert first != refreshed and set(refreshed[0]["stages"]) > set(first[0]["stages"])  # type: ignore[arg-type]
    assert refreshed[0]["evidence_bytes"] == sum(
        f.stat().st_size for f in scripted.workspace.evidence_root.rglob("*") if f.is_file()
    )


def test_a_new_or_removed_evidence_file_is_seen(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    before = status_json(cli, scripted)[0]
    synthesis = next(scripted.consensus_dir().glob("spec-plan_*_synthesis.json"))
    kept = scripted.root / "kept.json"
    shutil.move(synthesis, kept)  # the run's verdict is gone: plan was never judged
    gone = status_json(cli, scripted)[0]
    assert gone["stages"] == {}
    assert gone["evidence_bytes"] == before["evidence_bytes"] - kept.stat().st_size  # type: ignore[operator]
    shutil.move(kept, synthesis)  # back, as written by another process
    assert status_json(cli, scripted)[0] == before
    note = scripted.consensus_dir() / "notes.txt"
    note.write_text("x" * 1000)  # any new file counts towards the evidence size
    assert status_json(cli, scripted)[0]["evidence_bytes"] == before["evidence_bytes"] + 1000  # type: ignore[operator]


def test_the_kept_status_follows_the_tracker_the_documents_and_the_pipeline(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    first = status_json(cli, scripted)[0]
    assert status_json(cli, scripted)[0] == first  # the second answer is the kept one
    (scripted.root / "docs" / scripted.spec_id / "tasks.md").unlink()
    assert status_json(cli, scripted)[0]["missing_documents"] == ["tasks.md"]
    tracker = scripted.root / "SPEC.md"
    tracker.write_text(tracker.read_text().replace("In Progress", "Blocked"))
    assert status_json(cli, scripted)[0]["tracker_status"] == "Blocked"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        state = scripted.root / "evidence" / "pipeline" / scripted.spec_id / "auto_state.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"status": "running", "stage": "tasks", "pid": sleeper.pid}))
        assert status_json(cli, scripted)[0]["halted_at"] is None  # its process is alive
        assert status_json(cli, scripted)[0]["halted_at"] is None
    finally:
        sleeper.kill()
        sleeper.wait()
    gone = status_json(cli, scripted)[0]  # nothing on disk changed: the process died
    assert gone["halted_at"] == "tasks" and gone["halt_reason"] == "interrupted (process gone)"
