"""Diagnostics through the standard `logging` module, under the `speckit` logger.

Each module logs to `logging.getLogger(__name__)`, so its records sit in the
`speckit.*` hierarchy. Nothing is shown unless the CLI is given `-v` (INFO),
`-vv` or `--debug` (DEBUG): only then does `configure` add a handler, so a plain
command neither imports `logging` for this nor prints anything extra.

speckit logs at INFO and DEBUG only. What a user must see (a failed agent, a
degraded verdict) the commands print themselves; a WARNING record would reach
Python's last-resort handler and print even without `-v`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

ROOT = "speckit"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%H:%M:%S"
HANDLER_NAME = "speckit-stderr"


def configure(verbosity: int = 0, debug: bool = False) -> None:
    """Show the `speckit` logger's records on stderr: INFO for `-v`, DEBUG for `-vv`/`--debug`.

    Called again (commands run in one process, as tests do), it replaces what it
    set up before; with neither switch it only undoes that, if `logging` is loaded.
    """
    if not verbosity and not debug and "logging" not in sys.modules:
        return  # nothing was ever set up: keep start-up free of the import
    import logging

    logger = logging.getLogger(ROOT)
    for handler in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(handler)
    if not verbosity and not debug:
        logger.setLevel(logging.NOTSET)
        return
    logger.addHandler(_stderr_handler())
    logger.setLevel(logging.DEBUG if debug or verbosity >= 2 else logging.INFO)


def _stderr_handler() -> logging.Handler:
    """A handler writing to whatever `sys.stderr` is when a record comes, not when it was
    made: a test's capture or the TUI's redirection then gets the lines."""
    import logging

    class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
        def emit(self, record: logging.LogRecord) -> None:
            self.stream = sys.stderr
            super().emit(record)

    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    return handler
