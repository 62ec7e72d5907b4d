"""`speckit status` and `speckit evidence`: the index, its rebuilds, several SPECs."""

from __future__ import annotations

import json

from speckit.specs.documents import create_spec
from tests.conftest import CliRunner
from tests.pipeline.conftest import ScriptedWorkspace
from tests.pipeline.test_auto import PLAN_CONFLICT


def status_json(cli: CliRunner, scripted: ScriptedWorkspace) -> list[dict[str, object]]:
    result = cli("status", "--json", cwd=scripted.root)
    assert result.returncode == 0, result.stderr
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_status_of_several_specs(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    second, _ = create_spec(scripted.workspace, "Audit log export")
    third, _ = create_spec(scripted.workspace, "Password reset")
    (scripted.root / "docs" / third / "plan.md").unlink()
    scripted.commit()
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    scripted.commit()  # the plan.md it wrote: another SPEC's plan wants a clean tree
    scripted.script(PLAN_CONFLICT)
    assert cli("auto", second, cwd=scripted.root).returncode == 2
    rows = {r["spec_id"]: r for r in status_json(cli, scripted)}
    assert set(rows) == {scripted.spec_id, second, third}
    first_row = rows[scripted.spec_id]
    plan = first_row["stages"]["plan"]  # type: ignore[index]
    expected = {"status": "ok", "timestamp": plan["timestamp"], "decision": None}
    assert first_row["stages"] == {"plan": expected}
    assert rows[second]["halted_at"] == "plan"
    assert "conflict" in str(rows[second]["halt_reason"])
    assert rows[third]["missing_documents"] == ["plan.md"]
    assert rows[third]["stages"] == {} and rows[third]["evidence_bytes"] == 0
    assert int(first_row["evidence_bytes"]) > 0  # type: ignore[call-overload]
    assert float(first_row["total_cost_usd"]) > 0  # type: ignore[arg-type]
    text = cli("status", cwd=scripted.root).stdout
    assert "✔ ok" in text and "✖ conflict" in text
    assert f"{second}: halted at plan" in text
    assert f"{third}: missing plan.md" in text


def test_index_rebuilt_after_deletion_or_corruption(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    assert cli("auto", scripted.spec_id, cwd=scripted.root).returncode == 0
    before = status_json(cli, scripted)
    index = scripted.root / ".speckit" / "index.db"
    assert index.is_file()
    index.unlink()
    assert status_json(cli, scripted) == before
    index.write_bytes(b"this is not a database" * 100)
    assert status_json(cli, scripted) == before
    reindex = cli("evidence", "reindex", cwd=scripted.root)
    assert reindex.returncode == 0 and "6 runs" in reindex.stdout


def test_index_sees_new_runs(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    assert status_json(cli, scripted)[0]["stages"] == {}
    assert cli("run", "tasks", scripted.spec_id, cwd=scripted.root).returncode == 0
    stages = status_json(cli, scripted)[0]["stages"]
    assert list(stages) == ["tasks"]  # type: ignore[call-overload]


def test_evidence_list_and_stats(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 0
    listing = json.loads(
        cli("evidence", "list", scripted.spec_id, "--json", cwd=scripted.root).stdout
    )
    kinds = {e["kind"] for e in listing}
    assert kinds == {"consensus", "commands"}
    assert any(e["path"].endswith("_synthesis.json") for e in listing)
    stats = json.loads(cli("evidence", "stats", "--json", cwd=scripted.root).stdout)
    assert stats[0]["spec_id"] == scripted.spec_id and stats[0]["over_limit"] is False
    assert stats[0]["bytes"] == sum(e["bytes"] for e in listing)
    config = scripted.root / "speckit.toml"
    config.write_text(config.read_text().replace("limit_mb = 25", "limit_mb = 0.001"))
    warned = cli("evidence", "stats", cwd=scripted.root)
    assert "over the 0.001 MB limit" in warned.stderr


def test_status_with_no_specs(cli: CliRunner, workspace: object) -> None:
    from pathlib import Path

    result = cli("status", cwd=Path(str(workspace)))
    assert result.returncode == 0 and "no SPECs yet" in result.stdout


def test_index_rebuilt_by_several_threads_at_once(scripted: ScriptedWorkspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from speckit.pipeline.status import collect_status

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _n: collect_status(scripted.workspace), range(8)))
    assert all(len(r) == 1 and r[0].spec_id == scripted.spec_id for r in results)


def test_override_keeps_the_spec_totals(cli: CliRunner, scripted: ScriptedWorkspace) -> None:
    """Totals are sums over every run: the override's telemetry line carries no tokens."""
    scripted.script(PLAN_CONFLICT)
    assert cli("run", "plan", scripted.spec_id, cwd=scripted.root).returncode == 2
    before = status_json(cli, scripted)[0]
    assert int(before["total_tokens"]) > 0  # type: ignore[call-overload]
    override = cli(
        "consensus",
        "override",
        scripted.spec_id,
        "plan",
        "--verdict",
        "ok",
        "--reason",
        "in-memory counters are enough",
        cwd=scripted.root,
    )
    assert override.returncode == 0, override.stderr
    after = status_json(cli, scripted)[0]
    assert after["stages"]["plan"]["status"] == "ok"  # type: ignore[index]
    assert after["total_tokens"] == before["total_tokens"]
    assert after["total_cost_usd"] == before["total_cost_usd"]


def test_an_unwritable_index_names_its_path_and_leaves_no_temp_file(
    cli: CliRunner, scripted: ScriptedWorkspace
) -> None:
    cache = scripted.root / ".speckit"
    (cache / "index.db").unlink(missing_ok=True)
    (cache / "index.db").mkdir(parents=True)
    result = cli("status", cwd=scripted.root)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(cache / "index.db") in result.stderr and "Is a directory" in result.stderr
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".index.db")) == []
