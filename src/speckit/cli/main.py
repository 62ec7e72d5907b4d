"""Entry point: the `speckit` command group, global options and error handling.

Errors are turned into one line and an exit code here, so commands can just
raise `SpeckitError`; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click

from speckit import __version__, interrupts
from speckit.cli.lazy import LazyCommand, LazyGroup
from speckit.errors import ExitCode, SpeckitError

COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        "speckit.cli.init_cmd:init", "Create a workspace: config, tracker, templates."
    ),
    "new": LazyCommand("speckit.cli.specs_cmd:new", "Create a SPEC and add it to the tracker."),
    "specs": LazyCommand("speckit.cli.specs_cmd:specs", "List SPECs with their tracker status."),
    "lint": LazyCommand("speckit.cli.lint_cmd:lint", "Check SPEC.md and each SPEC's tasks.md."),
    "demo": LazyCommand("speckit.cli.demo_cmd:demo", "Run the offline demo in a temp workspace."),
    "prompts": LazyCommand("speckit.cli.prompts_cmd:prompts", "Show the prompt an agent gets."),
    "run": LazyCommand("speckit.cli.run_cmd:run", "Run one stage of a SPEC with all its agents."),
    "guardrail": LazyCommand("speckit.cli.guardrail_cmd:guardrail", "Guardrail checks of a stage."),
    "auto": LazyCommand("speckit.cli.auto_cmd:auto", "Run every stage; halt on disagreement."),
    "status": LazyCommand("speckit.cli.status_cmd:status", "Where each SPEC stands (no agents)."),
    "evidence": LazyCommand("speckit.cli.evidence_cmd:evidence", "List, size, reindex evidence."),
    "consensus": LazyCommand("speckit.cli.consensus_cmd:consensus", "Check or override a verdict."),
    "telemetry": LazyCommand(
        "speckit.cli.telemetry_cmd:telemetry", "Validate, sum, export (OTLP)."
    ),
    "tui": LazyCommand("speckit.cli.tui_cmd:tui", "Terminal UI: SPECs, live runs, slash commands."),
    "agents": LazyCommand("speckit.cli.agents_cmd:agents", "List agents; check which can run."),
    "worktrees": LazyCommand("speckit.cli.worktrees_cmd:worktrees", "Implement's git worktrees."),
    "cache": LazyCommand("speckit.cli.cache_cmd:cache", "Cached agent answers: stats, clear."),
    "cost": LazyCommand("speckit.cli.cost_cmd:cost", "Spend, tokens, savings, budget left."),
    "report": LazyCommand("speckit.cli.report_cmd:report", "One HTML page: runs, spend, charts."),
    # Each later command group adds its one line here.
}

EPILOG = """\b
Exit codes: 0 ok, 1 error, 2 conflict, 3 degraded, 4 guardrail failed,
64 usage error, 130 interrupted.
Start with:  speckit init  →  speckit new "what to build"  →  speckit lint
"""


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="speckit")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SPECKIT_WORKSPACE",
    help="Workspace folder (default: found by walking up from the current folder).",
)
@click.option(
    "--debug", is_flag=True, help="Show tracebacks for errors (a driver bug's too) and debug logs."
)
@click.option(
    "--verbose", "-v", count=True, help="Log what speckit does on stderr (-v info, -vv debug)."
)
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, debug: bool, verbose: int) -> None:
    """speckit: several AI agents work each stage of a SPEC; a consensus judges them.

    A SPEC moves through plan, tasks, implement, validate, audit and unlock.
    Everything an agent says is kept as evidence under evidence/.
    """
    from speckit.cli.context import AppContext
    from speckit.logs import configure

    configure(verbose, debug)  # no handler, no `logging` import, without -v or --debug
    ctx.obj = AppContext(workspace_option=workspace, debug=debug)


def _fail(message: str, code: int) -> None:
    click.echo(f"speckit: error: {message}", err=True)
    sys.exit(code)


SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _on_signals(handler: Callable[[int, object], None]) -> None:
    """Handle SIGINT/SIGTERM/SIGHUP; one ignored by whoever started speckit stays ignored
    (`nohup`, a background job of a script), as Python itself does for SIGINT."""
    import signal

    for name in SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, handler)


def _interrupt(signum: int, _frame: object) -> None:
    """Ctrl-C, SIGTERM and SIGHUP (kill, a closed terminal, a CI cancel) all interrupt.

    Agents run in their own process groups, so a signal to speckit never reaches
    them: they are killed here first. While agents run, the runner's event loop
    takes these signals instead (see `speckit.agents.runner`).
    """
    interrupts.record(signum)
    raise KeyboardInterrupt(f"signal {signum}")


def _exit_now(signum: int, _frame: object) -> None:
    """Once speckit is on its way out, a further signal ends it at once, still with 130."""
    interrupts.record(signum)
    os._exit(ExitCode.INTERRUPTED)


def _interrupted() -> NoReturn:
    """Say so and exit 130 without the interpreter's shutdown.

    The shutdown is what could still go wrong: daemon threads are frozen wherever
    they are (one inside an import holds its lock), and CPython turns a
    KeyboardInterrupt raised inside `exec`'d code (a dataclass or namedtuple
    being built) into an exit by SIGINT whatever code `sys.exit` asked for.
    Every file was closed and every agent killed on the way here.
    """
    _on_signals(_exit_now)  # a second Ctrl-C need not wait for anything
    with contextlib.suppress(OSError, ValueError):  # the terminal may be gone (SIGHUP)
        click.echo("speckit: error: interrupted", err=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(ExitCode.INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping every expected failure to one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # fast path: no command tree needed
        print(f"speckit, version {__version__}")
        return
    debug = "--debug" in args
    _on_signals(_interrupt)
    try:
        _run(args, debug)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _interrupted()
    except SystemExit:
        if interrupts.pending() is not None:  # its KeyboardInterrupt was lost on the way
            _interrupted()
        raise
    finally:
        _on_signals(_exit_now)  # interpreter shutdown must not be interrupted half-way


def entry() -> NoReturn:
    """The `speckit` console script and `python -m speckit`: `main`, then a quick exit.

    Tearing the interpreter down frees every module object by object (pydantic's and
    the price library's tables among them): about 100 ms at the end of each `speckit
    run` that buys nothing. So once the command is done, this does what that teardown
    would have done that matters — joins the threads that are not daemons (an evidence
    write in progress), runs the atexit handlers (prewarm join, local model workers,
    logging), flushes the output — and ends the process with `os._exit`. A failure that
    escapes `main` (a traceback under `--debug`) takes the normal way out. In-process
    callers (the tests) call `main`, which returns.
    """
    try:
        main()
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    _quick_exit(status)


def _exit_status(code: object) -> int:
    """The status `sys.exit(code)` would give: None is 0, an int is itself, else 1 (printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _quick_exit(status: int) -> NoReturn:
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # private, but there since Python 2 and typed in typeshed
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to tell
            stream.flush()
    os._exit(status)


def _run(args: list[str], debug: bool) -> None:
    try:
        result = cli.main(args=args, prog_name="speckit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            click.echo(exc.ctx.get_help())  # `speckit` or a group alone: show its help
            sys.exit(ExitCode.OK)
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        _fail(f"{exc.format_message()}{hint}", ExitCode.USAGE)
    except click.ClickException as exc:
        _fail(exc.format_message(), ExitCode.ERROR)
    except SpeckitError as exc:
        if debug:
            raise
        _fail(exc.message, exc.exit_code)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except OSError as exc:
        if interrupts.pending() is not None:  # a closed terminal (SIGHUP) failed a write
            raise KeyboardInterrupt from None
        if debug:
            raise
        _fail(
            f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), ExitCode.ERROR
        )
    # With standalone_mode=False click returns ctx.exit(code) codes instead of raising.
    sys.exit(result if isinstance(result, int) else ExitCode.OK)
