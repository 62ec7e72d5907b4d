"""The command line (history, completion) and the SPEC list of the left pane."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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

    def __init__(self, spec_ids: Callable[[], Iterable[str]], **kwargs: object) -> None:
        super().__init__(
            placeholder="/help for commands · Tab completes · ↑/↓ history",
            suggester=SlashSuggester(spec_ids),
            **kwargs,  # type: ignore[arg-type]
        )
        self.spec_ids = spec_ids
        self.history: list[str] = []
        self._position = 0
        self._draft = ""

    def remember(self, line: str) -> None:
        """Add a submitted line to the history (no repeats in a row)."""
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
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
