"""`speckit init`: lay out a workspace without overwriting anything.

Each file is created only if absent; the report says what was created and
what was kept, so re-running init is always safe.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from speckit.drivers import DRIVER_NAMES
from speckit.fsutil import atomic_write_text
from speckit.resources import read_data_text
from speckit.workspace import CACHE_DIR, CONFIG_FILE, SPEC_DOCUMENTS, TRACKER_FILE

if TYPE_CHECKING:
    from tomlkit import TOMLDocument
    from tomlkit.container import Container
    from tomlkit.items import Item, Key, Table

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
        return merge_roster(text, read_data_text("templates", "workspace", "scripted-roster.toml"))
    if not local:
        return text
    from speckit.agents.local_roster import local_roster_toml

    return merge_roster(text, local_roster_toml(), keep_agents=True)


def merge_roster(config: str, roster: str, keep_agents: bool = False) -> str:
    """`config` (speckit.toml text) with the agents of `roster`, and its stages if it has any.

    The roster's [agents.*] replace config's (or follow them, with `keep_agents`) and
    its [stages.*] replace config's. Edited as TOML (tomlkit), not as text, so both
    files keep their comments where a reader expects them: the roster's opening
    comments above its first agent, and those that followed config's last agent or
    stage (examples, the next section's heading) after the new ones.
    """
    import tomlkit

    document, new = tomlkit.parse(config), tomlkit.parse(roster)
    if other := set(new) - {"agents", "stages"}:  # never drop part of the roster silently
        raise ValueError(f"a roster has only [agents.*] and [stages.*], not {sorted(other)}")
    opening = list(itertools.takewhile(lambda entry: entry[0] is None, new.body))
    for section in ("agents", "stages"):
        if section not in new:
            continue
        tables = _table(new, section)
        if section not in document:
            _append(_tail(document), opening)
            opening = _pop_tail(tables.value)
            document.append(section, tables)
            continue
        old = _table(document, section)
        after = _pop_tail(old.value)
        if not (section == "agents" and keep_agents):
            for gone in [key for key, _ in old.value.body if key is not None]:
                old.remove(gone)
        _append(_tail(old.value if len(old) else _before(document, section)), opening)
        opening = _pop_tail(tables.value)  # what the roster has above its next section
        for key, item in tables.value.body:
            if key is not None:
                indent = item.trivia.indent
                old.append(key, item)
                item.trivia.indent = indent  # parsed: its spacing is in the text already
        _append(_tail(old.value), after)
    return tomlkit.dumps(document)


def _table(document: TOMLDocument, key: str) -> Table:
    from tomlkit.items import Table

    table = document[key]
    if not isinstance(table, Table):
        raise ValueError(f"[{key}] is not a table")
    return table


def _before(document: TOMLDocument, key: str) -> Container:
    """The table written just before table `key`, whose end is where comments above `key` go."""
    from tomlkit.items import Table

    previous = None
    for name, item in document.body:
        if name is not None and name.key == key:
            break
        if isinstance(item, Table):
            previous = item.value
    if previous is None:
        raise ValueError(f"[{key}] is the first table: nowhere to put comments above it")
    return previous


def _tail(container: Container) -> list[tuple[Key | None, Item]]:
    """The body written last in `container`: that of its last table, recursively.

    TOML has no comments *above* a table: a parser files them at the end of the
    table before it, so that end is where comments introducing what follows live.
    """
    from tomlkit.items import Table

    body = container.body
    if body and body[-1][0] is not None and isinstance(body[-1][1], Table):
        return _tail(body[-1][1].value)
    return body


def _append(body: list[tuple[Key | None, Item]], loose: list[tuple[Key | None, Item]]) -> None:
    """Add comments and blank lines to `body`, a blank line apart from a value above them."""
    from tomlkit.items import Whitespace

    if loose and body and body[-1][0] is not None and not isinstance(loose[0][1], Whitespace):
        body.append((None, Whitespace("\n")))
    body.extend(loose)


def _pop_tail(container: Container) -> list[tuple[Key | None, Item]]:
    """Remove and return the comments and blank lines at the end of `container`'s last table."""
    body = _tail(container)
    keep = len(body)
    while keep and body[keep - 1][0] is None:
        keep -= 1
    tail = body[keep:]
    del body[keep:]  # keyless entries only: the index of every key stays right
    return tail


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
