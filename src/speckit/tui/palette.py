"""The command palette (Ctrl+P) lists the slash commands, so a user can find one by name.

Choosing a command goes through the command line, as if typed: one that needs an argument is
put there to be completed; one that needs none is run (and remembered in the history).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from speckit.tui.commands import help_lines
from speckit.tui.widgets import CommandLine


def needs_argument(usage: str) -> bool:
    """`/spec-plan SPEC …` does; `/status [SPEC]`, `/help` do not (optional parts in [ ])."""
    return any(not word.startswith("[") for word in usage.split()[1:])


class SlashCommands(Provider):
    """One hit per slash command: its usage, with what it does as the help line."""

    def _choose(self, usage: str) -> None:
        name = usage.split()[0]
        line = self.app.query_one("#command", CommandLine)
        line.focus()
        if needs_argument(usage):
            line.value = f"{name} "
            line.cursor_position = len(line.value)
            return
        line.value = name
        self.app.call_later(line.action_submit)

    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        return [(usage, summary, partial(self._choose, usage)) for usage, summary in help_lines()]

    async def discover(self) -> Hits:
        for usage, summary, choose in self._commands():
            yield DiscoveryHit(Content(usage), choose, text=usage, help=summary)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for usage, summary, choose in self._commands():
            score = matcher.match(usage)
            if score > 0:
                # not matcher.highlight: it reads `[SPEC]` as markup and drops it
                yield Hit(score, Content(usage), choose, text=usage, help=summary)
