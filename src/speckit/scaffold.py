"""`speckit init`: lay out a workspace without overwriting anything.

Each file is created only if absent; the report says what was created and
what was kept, so re-running init is always safe.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from speckit.drivers import DRIVER_NAMES
from speckit.fsutil import atomic_write_text
from speckit.resources import read_data_text
from speckit.workspace import CACHE_DIR, CONFIG_FILE, SPEC_DOCUMENTS, TRACKER_FILE

GITIGNORE_LINE = f"{CACHE_DIR}/"
AGENT_CLIS = {"gemini": "gemini", "claude": "claude", "codex": "codex"}
SCRIPTED_FILE = "scripted-agents.toml"  # the answers of the `init --scripted` roster
LOCAL_INSTALL = "pip install -e '.[local]' in the speckit source folder"


@dataclass
class InitReport:
    root: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    agents_found: dict[str, bool] = field(default_factory=dict)
    local_roster: bool = False
    scripted_roster: bool = False


def render_config(found: dict[str, bool], local: bool = False, scripted: bool = False) -> str:
    """The commented speckit.toml, enabling each CLI agent only if its CLI was found.

    With `local`, three llama.cpp agents are added and every stage uses them: the
    roster for a machine with no agent CLI but the speckit[local] extra. With
    `scripted`, the CLI agents are replaced by scripted agents of the same names
    that answer from scripted-agents.toml: the flow can be tried with nothing
    installed.
    """
    flags = {f"{name}_enabled": "true" if found.get(name) else "false" for name in AGENT_CLIS}
    flags["drivers"] = " | ".join(DRIVER_NAMES)  # the comment lists what config accepts
    text = Template(read_data_text("templates", "workspace", "speckit.toml")).substitute(flags)
    if scripted:
        first, examples = text.index("[agents.gemini]"), text.index("# An OpenAI-compatible")
        roster = read_data_text("templates", "workspace", "scripted-roster.toml")
        return text[:first] + roster + "\n" + text[examples:]
    if not local:
        return text
    from speckit.agents.local_roster import local_roster_toml

    roster = local_roster_toml()
    split = roster.index("[stages.plan]")
    stages = text.index("# --- Stages")
    stages_body = text.index("\n", stages) + 1
    guardrails = text.index("# --- Guardrails")
    return (
        text[:stages]
        + roster[:split]
        + text[stages:stages_body]
        + "\n"
        + roster[split:]
        + "\n"
        + text[guardrails:]
    )


def wants_local_roster(found: dict[str, bool]) -> bool:
    """No agent CLI on PATH, but the local model is installed: use it."""
    if any(found.values()):
        return False
    from speckit.agents.local_roster import local_extra_installed

    return local_extra_installed()


def init_workspace(
    root: Path,
    which: Callable[[str], str | None] = shutil.which,
    local: bool | None = None,
    scripted: bool = False,
) -> InitReport:
    """Create every workspace file that does not exist yet under `root`.

    `local` forces the local-model roster on or off (default: when no CLI is found
    and speckit[local] is installed). `scripted` writes the scripted roster and its
    answers instead; no CLI is looked for, since none is used.
    """
    root.mkdir(parents=True, exist_ok=True)
    report = InitReport(root=root.resolve(), scripted_roster=scripted)
    if not scripted:
        report.agents_found = {name: which(cli) is not None for name, cli in AGENT_CLIS.items()}

    def write(relative: str, content: str) -> None:
        target = root / relative
        if target.exists():
            report.kept.append(relative)
            return
        atomic_write_text(target, content)
        report.created.append(relative)

    def folder(relative: str) -> None:
        target = root / relative
        if target.is_dir():
            report.kept.append(relative + "/")
            return
        target.mkdir(parents=True)
        report.created.append(relative + "/")

    if scripted:
        write(CONFIG_FILE, render_config({}, scripted=True))
        write(SCRIPTED_FILE, read_data_text("templates", "workspace", SCRIPTED_FILE))
    else:
        report.local_roster = wants_local_roster(report.agents_found) if local is None else local
        write(CONFIG_FILE, render_config(report.agents_found, local=report.local_roster))
    write(TRACKER_FILE, read_data_text("templates", "workspace", "SPEC.md"))
    for name in SPEC_DOCUMENTS:
        write(f"templates/{name}", read_data_text("templates", name))
    write("memory/constitution.md", read_data_text("templates", "workspace", "constitution.md"))
    folder("docs")
    folder("evidence")
    folder(CACHE_DIR)
    _ignore_cache(root / ".gitignore", report)
    return report


def _ignore_cache(gitignore: Path, report: InitReport) -> None:
    if not gitignore.exists():
        atomic_write_text(gitignore, GITIGNORE_LINE + "\n")
        report.created.append(".gitignore")
        return
    text = gitignore.read_text(encoding="utf-8")
    if GITIGNORE_LINE in (line.strip() for line in text.splitlines()):
        report.kept.append(".gitignore")
        return
    separator = "" if text.endswith("\n") or not text else "\n"
    atomic_write_text(gitignore, f"{text}{separator}{GITIGNORE_LINE}\n")
    report.updated.append(".gitignore")
