"""The command line (history, completion) and the SPEC pane (a filter over a one-line list)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content, Span
from textual.message import Message
from textual.strip import Strip
from textual.suggester import Suggester
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from speckit.tui.commands import complete
from speckit.tui.render import stage_verdicts

if TYPE_CHECKING:
    from rich.text import Text
    from textual.css.styles import RulesMap
    from textual.style import Style as VisualStyle

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
    """Input with ↑/↓ history and Tab completion of slash commands, SPEC ids and flags.

    Enter empties the line at once, in the widget, so that keys typed ahead of the app (right
    after launch, or while it is busy) start a new line instead of joining the submitted one.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous command", show=False),
        Binding("down", "history(1)", "Next command", show=False),
        Binding("tab", "complete", "Complete", show=False),
        # a line typed before the app takes the terminal arrives with LF (the tty still
        # translates CR): it is an Enter too
        Binding("ctrl+j", "submit", "Submit", show=False),
        Binding("pageup", "scroll_history('page_up')", "Scroll history up", show=False),
        Binding("pagedown", "scroll_history('page_down')", "Scroll history down", show=False),
        Binding("ctrl+home", "scroll_history('home')", "History top", show=False),
        Binding("ctrl+end", "scroll_history('end')", "History end", show=False),
    ]

    class Candidates(Message):
        """More than one completion: the app shows them under the command line."""

        def __init__(self, candidates: list[str]) -> None:
            super().__init__()
            self.candidates = candidates

    class ScrollHistory(Message):
        """PgUp/PgDn (Home/End at the line's ends): scroll the history, keep the focus here."""

        def __init__(self, where: str) -> None:
            super().__init__()
            self.where = where

    def __init__(
        self,
        spec_ids: Callable[[], Iterable[str]],
        history_path: Path | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            placeholder="/help for commands · Tab completes · ↑/↓ history",
            suggester=SlashSuggester(spec_ids),
            select_on_focus=False,  # a key routed here from a pane must not replace the line
            **kwargs,  # type: ignore[arg-type]
        )
        self.spec_ids = spec_ids
        self.history_path = history_path
        self.history: list[str] = load_history(history_path)
        self._position = len(self.history)
        self._draft = ""

    async def on_key(self, event: events.Key) -> None:
        """The line's own keys (Enter, Backspace, Tab, ←…) act here, in typing order.

        Left to the binding system, they would act only once the key had bubbled up to the app,
        while the keys typed after them were already being inserted: `/set-env A=1⏎/set-env
        B=2⏎` typed (or arriving) at once became one line, and the first Enter submitted it."""
        for key in event.aliases:
            for binding in self._bindings.key_to_bindings.get(key, ()):
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return

    async def action_submit(self) -> None:
        value = self.value
        self.remember(value.strip())
        self.value = ""
        self.post_message(self.Submitted(self, value))

    def action_scroll_history(self, where: str) -> None:
        self.post_message(self.ScrollHistory(where))

    def action_home(self, select: bool = False) -> None:
        """Home moves the cursor; already at the start, it goes to the top of the history."""
        if not select and self.cursor_position == 0:
            self.action_scroll_history("home")
        else:
            super().action_home(select)

    def action_end(self, select: bool = False) -> None:
        """End moves the cursor; already at the end, it follows the newest history again."""
        if not select and self.cursor_position == len(self.value):
            self.action_scroll_history("end")
        else:
            super().action_end(select)

    def insert_typed(self, character: str) -> None:
        """A character typed while another pane had the focus (the app routes it here)."""
        self.insert_text_at_cursor(character)

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


PANE_MIN_WIDTH = 30  # the id, six symbols and ■ HALTED still fit beside a scrollbar
PANE_STEP = 4  # columns per `[` / `]`


def spec_matches(row: SpecStatus, text: str) -> bool:
    """The filter: every word of `text` in the id or the title, case ignored."""
    haystack = f"{row.spec_id} {row.title}".lower()
    return all(word in haystack for word in text.lower().split())


class SpecFilter(Input):
    """The SPEC pane's filter: typing narrows the list live, Esc clears it, Enter or ↓ goes
    to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", show=False),
        Binding("down,enter", "to_list", "To the list", show=False),
    ]

    def action_clear(self) -> None:
        pane = self.query_ancestor(SpecPane)
        pane.clear_filter()

    def action_to_list(self) -> None:
        self.query_ancestor(SpecPane).query_one(SpecList).focus()


class OneLine(Content):
    """A SPEC's line: it never wraps (the pane's stylesheet), so its height needs no measuring;
    measuring a thousand lines at each refresh was most of the pane's cost."""

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 1


def one_line(text: Text) -> OneLine:
    """Rich text as Textual content; the style strings are read when a line is drawn (only the
    visible ones), not converted up front for every SPEC."""
    return OneLine(text.plain, [Span(s.start, s.end, str(s.style)) for s in text.spans])


class SpecList(OptionList):
    """One line per SPEC: id, a verdict symbol per stage, the halt marker, then the title (the
    part the pane's width cuts). Options are built once per refresh and reused by the filter.

    A SPEC's line is drawn straight from its Rich text: OptionList's general path (a visual
    laid out through Textual's styles, ~1 ms a line, its cache emptied by every resize) made a
    resize at 200x60 cost a hundred milliseconds in this pane alone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", show=False),
        Binding("left_square_bracket,ctrl+left", "resize(-1)", "Narrower", show=False),
        Binding("right_square_bracket,ctrl+right", "resize(1)", "Wider", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows: list[SpecStatus] = []
        self.options_by_id: dict[str, Option] = {}
        self.filter_text = ""
        self.error: str | None = None
        self._strips: dict[tuple[str, VisualStyle, int], list[Strip]] = {}

    def show(self, rows: list[SpecStatus]) -> None:
        self.rows, self.error = rows, None
        self.options_by_id = {
            row.spec_id: Option(one_line(stage_verdicts(row)), id=row.spec_id) for row in rows
        }
        self._strips.clear()
        self.refill()

    def _get_option_render(self, option: Option, style: VisualStyle) -> list[Strip]:
        """A SPEC's line as one strip: its text cut to the width (… marks a cut title) over
        the option's style (highlight, hover). Other options (the notices) go the usual way.
        Only the lines on screen get here, so the Rich text is made for them alone."""
        spec_id, line = option.id, option.prompt
        if spec_id is None or not isinstance(line, OneLine):
            return super()._get_option_render(option, style)
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        key = (spec_id, style, width)
        strips = self._strips.get(key)
        if strips is None:
            if len(self._strips) > 4 * len(self.options_by_id) + 64:  # widths seen long ago
                self._strips.clear()
            strips = [self._line_strip(line, style, width, self.get_option_index(spec_id))]
            self._strips[key] = strips
        return strips

    def _line_strip(self, line: OneLine, style: VisualStyle, width: int, index: int) -> Strip:
        from rich.text import Span as RichSpan
        from rich.text import Text

        padding = self.get_component_styles("option-list--option").padding
        base = style.rich_style
        room = max(0, width - padding.left - padding.right)
        spans = [RichSpan(span.start, span.end, str(span.style)) for span in line.spans]
        text = Text(line.plain, spans=spans, end="")
        text.truncate(room, overflow="ellipsis")
        segments = [Segment(" " * padding.left)] if padding.left else []
        segments.extend(text.render(self.app.console))
        strip = Strip(Segment.apply_style(segments, style=base))
        return strip.extend_cell_length(width, base).apply_meta({"option": index})

    def show_error(self, message: str) -> None:
        self.rows, self.options_by_id, self.error = [], {}, message
        self.refill()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self.refill()

    @property
    def shown_ids(self) -> list[str]:
        return [str(option.id) for option in self.options if option.id]

    def refill(self) -> None:
        """The options that match the filter, in one `add_options` (a thousand SPECs stay fast)."""
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        self.clear_options()
        if self.error is not None:
            self.add_option(Option(f"cannot read the SPECs: {self.error}", disabled=True))
        elif not self.rows:
            self.add_option(Option('no SPECs yet: /new "what to build"', disabled=True))
        else:
            found = [
                self.options_by_id[row.spec_id]
                for row in self.rows
                if spec_matches(row, self.filter_text)
            ]
            self.add_options(
                found or [Option(f"no SPEC matches '{self.filter_text}'", disabled=True)]
            )
            self.highlighted = 0 if found else None  # Enter always has a SPEC to act on
            if highlighted is not None:
                with contextlib.suppress(OptionDoesNotExist):
                    self.highlighted = self.get_option_index(highlighted)
        self.post_message(SpecPane.Counted(len(self.shown_ids), len(self.rows)))

    def action_filter(self) -> None:
        self.query_ancestor(SpecPane).open_filter()

    def action_resize(self, step: int) -> None:
        self.query_ancestor(SpecPane).resize(step)


class SpecPane(Vertical):
    """The left pane: the filter (shown by `/`, or while it holds text) above the SPEC list.
    Its width steps with `[`/`]`; Ctrl+B (the app) hides it."""

    class Counted(Message):
        """How many SPECs the list shows, of how many."""

        def __init__(self, shown: int, total: int) -> None:
            super().__init__()
            self.shown, self.total = shown, total

    def compose(self) -> ComposeResult:
        yield SpecFilter(placeholder="id or title", id="spec-filter")
        yield SpecList(id="specs")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.chosen_width: int | None = None  # None: the stylesheet's, which follows the terminal

    def on_mount(self) -> None:
        self.query_one(SpecFilter).display = False
        self.border_title = "SPECs"
        self.border_subtitle = "/ filter"

    def on_spec_pane_counted(self, message: SpecPane.Counted) -> None:
        if self.query_one(SpecList).filter_text:
            self.border_title = f"SPECs {message.shown} of {message.total}"
        else:
            self.border_title = f"SPECs ({message.total})" if message.total else "SPECs"

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "spec-filter":
            event.stop()
            self.query_one(SpecList).set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "spec-filter":
            event.stop()

    def open_filter(self) -> None:
        line = self.query_one(SpecFilter)
        line.display = True
        line.focus()

    def clear_filter(self) -> None:
        """Empty the filter, hide it, and give the list the focus back."""
        line = self.query_one(SpecFilter)
        line.value = ""
        self.query_one(SpecList).set_filter("")
        line.display = False
        self.query_one(SpecList).focus()

    @property
    def filter_open(self) -> bool:
        return bool(self.query_one(SpecFilter).display)

    def resize(self, step: int) -> None:
        """Narrow or widen by a few columns, keeping room for the history beside it."""
        current = self.chosen_width or self.outer_size.width
        widest = max(PANE_MIN_WIDTH, self.app.size.width - 40)
        self.chosen_width = max(PANE_MIN_WIDTH, min(widest, current + step * PANE_STEP))
        self.styles.min_width = PANE_MIN_WIDTH
        self.styles.max_width = None
        self.styles.width = self.chosen_width
