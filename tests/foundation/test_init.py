"""`speckit init`: fresh workspaces, re-runs that keep everything, the agent roster."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from speckit.config import load_config
from speckit.scaffold import init_workspace
from tests.conftest import CliRunner

EXPECTED = [
    "speckit.toml",
    "SPEC.md",
    "templates/spec.md",
    "templates/plan.md",
    "templates/tasks.md",
    "memory/constitution.md",
    "docs",
    "evidence",
    ".speckit",
    ".gitignore",
]


def test_init_creates_every_workspace_file(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "ws"))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "ws"
    for name in EXPECTED:
        assert (root / name).exists(), name
    assert ".speckit/" in (root / ".gitignore").read_text().splitlines()
    assert "created  speckit.toml" in result.stdout


def test_config_lists_every_setting_and_loads(tmp_path: Path) -> None:
    init_workspace(tmp_path, which=lambda name: "/usr/bin/claude" if name == "claude" else None)
    text = (tmp_path / "speckit.toml").read_text()
    data = tomllib.loads(text)
    assert set(data) >= {
        "specs",
        "pipeline",
        "consensus",
        "evidence",
        "telemetry",
        "agents",
        "stages",
        "guardrails",
    }
    assert data["evidence"]["root"] == "evidence"
    assert data["telemetry"]["enabled"] is True
    assert data["consensus"]["quorum"] == 2
    assert data["pipeline"]["stages"] == [
        "plan",
        "tasks",
        "implement",
        "validate",
        "audit",
        "unlock",
    ]
    config = load_config(tmp_path / "speckit.toml")
    assert config.agents["claude"].enabled is True  # its CLI was "found"
    assert config.agents["gemini"].enabled is False
    assert config.agents["gpt_pro"].driver == "codex_cli"
    assert config.agents["gpt_pro"].role == "aggregator"
    assert [a.name for a in config.stage_agents("implement")] == ["claude"]
    assert config.stages["implement"].agents == ["claude", "gpt_codex", "gpt_pro"]
    assert config.agents["claude"].role == "implementer"
    assert text.count("#") > 20, "settings should be commented"


def test_rerun_keeps_existing_files_and_says_so(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert cli("init", str(root)).returncode == 0
    (root / "SPEC.md").write_text("# my tracker\n")
    (root / "speckit.toml").write_text((root / "speckit.toml").read_text() + "\n# mine\n")
    again = cli("init", str(root))
    assert again.returncode == 0
    assert (root / "SPEC.md").read_text() == "# my tracker\n"
    assert (root / "speckit.toml").read_text().endswith("# mine\n")
    assert "kept     SPEC.md (exists)" in again.stdout
    assert "created" not in again.stdout


def test_gitignore_is_extended_not_replaced(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/")
    report = init_workspace(tmp_path, which=lambda _n: None)
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.speckit/\n"
    assert report.updated == [".gitignore"]


def test_init_into_a_file_is_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a folder")
    result = cli("init", str(target))
    assert result.returncode == 64
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits: run as a user")
def test_init_into_unwritable_folder_is_one_line_error(cli: CliRunner, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        denied = cli("init", str(ro / "ws"))
        assert denied.returncode == 1
        assert len(denied.stderr.strip().splitlines()) == 1
        assert "Traceback" not in denied.stderr
    finally:
        ro.chmod(stat.S_IRWXU)


def test_commands_find_workspace_by_walking_up(cli: CliRunner, workspace: Path) -> None:
    deep = workspace / "docs" / "a" / "b"
    deep.mkdir(parents=True)
    assert cli("new", "Walk up test", cwd=deep).returncode == 0
    assert (workspace / "docs" / "SPEC-KIT-005-walk-up-test" / "spec.md").is_file()


def test_no_workspace_is_a_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("specs", cwd=tmp_path)
    assert result.returncode == 1
    assert "no speckit.toml" in result.stderr and "speckit init" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_workspace_option(cli: CliRunner, workspace: Path, tmp_path: Path) -> None:
    ok = cli("--workspace", str(workspace), "new", "From elsewhere", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (workspace / "docs" / "SPEC-KIT-005-from-elsewhere" / "spec.md").is_file()
    bad = cli("--workspace", str(tmp_path), "specs", cwd=tmp_path)
    assert bad.returncode == 1 and "not a speckit workspace" in bad.stderr


def test_broken_config_is_reported_with_its_location(cli: CliRunner, workspace: Path) -> None:
    config = workspace / "speckit.toml"
    config.write_text(config.read_text().replace("number_step = 5", "number_step = 'five'"))
    result = cli("new", "x y", cwd=workspace)
    assert result.returncode == 1
    assert "specs.number_step" in result.stderr
    config.write_text("[specs\n")
    result = cli("new", "x y", cwd=workspace)
    assert result.returncode == 1 and "invalid TOML" in result.stderr


def test_local_roster_keeps_cli_agents_and_uses_local_ones(tmp_path: Path) -> None:
    report = init_workspace(tmp_path, which=lambda _n: None, local=True)
    assert report.local_roster
    config = load_config(tmp_path / "speckit.toml")
    for stage in ("plan", "implement", "unlock"):
        assert [a.name for a in config.stage_agents(stage)] == ["local_a", "local_b", "local_c"]
    assert {a.driver for n, a in config.agents.items() if n.startswith("local")} == {"llama_cpp"}
    assert config.agents["local_c"].role == "aggregator"
    assert config.agents["claude"].enabled is False, "CLI agents stay, ready to enable"


def test_local_roster_only_without_any_cli(tmp_path: Path) -> None:
    from speckit.agents.local_roster import local_extra_installed

    none_found = init_workspace(tmp_path / "a", which=lambda _n: None)
    assert none_found.local_roster == local_extra_installed()
    one_found = init_workspace(tmp_path / "b", which=lambda n: "/bin/x" if n == "codex" else None)
    assert one_found.local_roster is False


def test_unsafe_agent_names_are_refused_at_load(cli: CliRunner, workspace: Path) -> None:
    config = workspace / "speckit.toml"
    text = config.read_text()
    for bad in ('"../../escaped"', '"synthesis"', '"x_raw"'):
        config.write_text(text + f'\n[agents.{bad}]\ndriver = "scripted"\n')
        result = cli("agents", "list", cwd=workspace)
        assert result.returncode == 1, bad
        assert "cannot be used in evidence file names" in result.stderr


def test_written_files_get_normal_permissions(cli: CliRunner, workspace: Path) -> None:
    tracker = workspace / "SPEC.md"
    tracker.chmod(0o640)
    assert cli("new", "Mode check", cwd=workspace).returncode == 0
    assert tracker.stat().st_mode & 0o777 == 0o640, "an existing file keeps its mode"
    spec = workspace / "docs" / "SPEC-KIT-005-mode-check" / "spec.md"
    umask = os.umask(0)
    os.umask(umask)
    assert spec.stat().st_mode & 0o777 == 0o666 & ~umask, "new files follow the umask"


def test_the_commented_http_check_example_works_when_uncommented(tmp_path: Path) -> None:
    init_workspace(tmp_path, which=lambda _n: None, local=False)
    config = tmp_path / "speckit.toml"
    lines = config.read_text().splitlines()
    start = lines.index("# [[guardrails.http_checks]]")
    uncommented = [line.removeprefix("# ") for line in lines[start:]]
    config.write_text("\n".join(lines[:start] + uncommented) + "\n")
    checks = load_config(config).guardrails.http_checks
    assert [(c.name, c.url, c.header_env) for c in checks] == [
        ("health", "http://127.0.0.1:8080/health", "HAL_SECRET_API_KEY")
    ]


def test_init_refuses_control_characters(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "bad\x01dir"))
    assert result.returncode == 64 and "control characters" in result.stderr
    assert not (tmp_path / "bad\x01dir").exists()


def test_evidence_root_outside_is_a_config_error(cli: CliRunner, workspace: Path) -> None:
    config = workspace / "speckit.toml"
    config.write_text(config.read_text().replace('root = "evidence"', 'root = "../elsewhere"'))
    result = cli("status", cwd=workspace)
    assert result.returncode == 1 and "[evidence].root" in result.stderr


def test_bare_command_or_group_prints_help(cli: CliRunner, tmp_path: Path) -> None:
    for args in ([], ["evidence"], ["telemetry"]):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 0, args
        assert result.stdout.startswith("Usage: speckit") and result.stderr == ""
