"""The command line (history, completion) and the SPEC list of the left pane."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from speckit.tui.commands import complete
from speckit.tui.render import stage_verdicts

if TYPE_CHECKING:
    from speckit.pipeline.status import SpecStatus


HISTORY_KEPT = 500  # lines of command history kept between sessions


def without_secrets(line: str) -> str:
    """`/set-env NAME=VALUE …` as `/set-env NAME= …`: the names come back with ↑, the
    values (API keys, tokens) are never kept, in memory or on disk."""
    import shlex

    if not line.startswith("/set-env"):
        return line
    try:
        words = shlex.split(line)
    except ValueError:  # unbalanced quotes: keep the command word only
        return "/set-env"
    kept = [word.split("=", 1)[0] + "=" if "=" in word else word for word in words]
    return " ".join(kept)


def load_history(path: Path | None) -> list[str]:
    """The history of earlier sessions; an unreadable file is an empty history."""
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [without_secrets(line) for line in lines if line.strip()][-HISTORY_KEPT:]


def save_history(path: Path | None, history: list[str]) -> None:
    """Written whole and atomically; a history that cannot be written is not worth an error."""
    if path is None:
        return
    from speckit.fsutil import atomic_write_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{line}\n" for line in history[-HISTORY_KEPT:])
        atomic_write_text(path, text, inside=path.parent)
    except OSError:
        return


class SlashSuggester(Suggester):
    """Inline ghost text: the first completion of what is typed (Tab or → accepts it)."""

    def __init__(self, spec_ids: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.spec_ids = spec_ids

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, self.spec_ids())
        return found[0] if found else None


class CommandLine(Input):
    """Input with ↑/↓ history and Tab completion of slash commands, SPEC ids and flags."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous command", show=False),
        Binding("down", "history(1)", "Next command", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    class Candidates(Message):
        """More than one completion: the app shows them under the command line."""

        def __init__(self, candidates: list[str]) -> None:
            super().__init__()
            self.candidates = candidates

    def __init__(
        self,
        spec_ids: Callable[[], Iterable[str]],
        history_path: Path | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            placeholder="/help for commands · Tab completes · ↑/↓ history",
            suggester=SlashSuggester(spec_ids),
            **kwargs,  # type: ignore[arg-type]
        )
        self.spec_ids = spec_ids
        self.history_path = history_path
        self.history: list[str] = load_history(history_path)
        self._position = len(self.history)
        self._draft = ""

    def remember(self, line: str) -> None:
        """Add a submitted line to the history (no repeats in a row), kept for the next
        session too; a /set-env line is kept without its values (they are often keys)."""
        line = without_secrets(line)
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
            save_history(self.history_path, self.history)
        self._position = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position == len(self.history):
            self._draft = self.value
        self._position = max(0, min(len(self.history), self._position + step))
        text = self.history[self._position] if self._position < len(self.history) else self._draft
        self.value = text
        self.cursor_position = len(text)

    def action_complete(self) -> None:
        found = complete(self.value, self.spec_ids())
        if not found:
            return
        common = os.path.commonprefix(found)  # noqa: RUF071 - text, not paths
        if len(found) == 1 or len(common) > len(self.value):
            self.value = found[0] if len(found) == 1 else common
            self.cursor_position = len(self.value)
        if len(found) > 1:
            self.post_message(self.Candidates(found))


class SpecList(OptionList):
    """Left pane: each SPEC with its tracker status and each stage's latest verdict."""

    def show(self, rows: list[SpecStatus]) -> None:
        highlighted = self.highlighted
        self.clear_options()
        if not rows:
            self.add_option(Option('no SPECs yet: /new "what to build"', disabled=True))
            return
        self.add_options(Option(stage_verdicts(row), id=row.spec_id) for row in rows)
        if highlighted is not None and highlighted < len(rows):
            self.highlighted = highlighted

    def show_error(self, message: str) -> None:
        self.clear_options()
        self.add_option(Option(f"cannot read the SPECs: {message}", disabled=True))
