"""``sizer backtest``: replay a trace directory and score Sizer against the baselines.

Prints one summary row per recommender; ``--json OUT`` writes every recommendation with its
metrics so they can be recomputed from the trace. A malformed trace is reported as one line,
``sizer backtest: <file>:<line>: <reason>``, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.backtest.results import Mode

NAME = "backtest"
HELP = "Replay a trace directory and score Sizer's sizes against the baselines."

MAX_HISTORY_HOURS = 24 * 365 * 10
TABLE_WIDTH = 160


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not 0 < value <= MAX_HISTORY_HOURS:
        raise argparse.ArgumentTypeError(f"history hours must be in (0, {MAX_HISTORY_HOURS}]")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    from tools.backtest.results import MODES
    from tools.backtest.runner import DEFAULT_HISTORY_HOURS

    parser.add_argument("trace_dir", metavar="TRACE_DIR", type=Path, help="trace directory")
    parser.add_argument("--mode", choices=MODES, default="rightsize", help="default: rightsize")
    parser.add_argument(
        "--history-hours",
        type=_hours,
        default=DEFAULT_HISTORY_HOURS,
        metavar="H",
        help=f"rightsize: hours of history before the split (default {DEFAULT_HISTORY_HOURS:g})",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the full result here")
    parser.add_argument(
        "--recommenders",
        metavar="NAMES",
        help="comma-separated, e.g. sizer,vpa (default: all of the mode's recommenders)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _recommenders(text: str | None, mode: Mode) -> tuple[str, ...] | None:
    if text is None:
        return None
    from tools.backtest.runner import available

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = available(mode)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(
            f"unknown recommender {', '.join(unknown) or '(none given)'} for --mode {mode}; "
            f"choose from {','.join(known)}"
        )
    return tuple(dict.fromkeys(names))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tools.backtest import report
    from tools.backtest.runner import run_backtest
    from tools.traces import TraceError, load_trace

    mode: Mode = args.mode
    only = _recommenders(args.recommenders, mode)
    try:
        trace = load_trace(args.trace_dir)
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    show_progress = not args.quiet and sys.stderr.isatty()
    progress = (
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[service]}"),
            console=Console(stderr=True),
            transient=True,
        )
        if show_progress
        else None
    )
    with progress if progress is not None else nullcontext():
        task = (
            progress.add_task(f"{mode} backtest", total=len(trace.usage), service="")
            if progress is not None
            else None
        )

        def advance(service: str) -> None:
            if progress is not None and task is not None:
                progress.update(task, advance=1, service=service)

        result = run_backtest(
            trace,
            mode,
            history_hours=args.history_hours,
            only=only,
            policy=settings.policy,
            on_service=advance,
        )
    if args.json is not None:
        try:
            report.write_json(result, args.json)
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    # a pipe or file gets the whole table rather than an 80-column squeeze
    Console(width=None if sys.stdout.isatty() else TABLE_WIDTH).print(report.summary_table(result))
    return 0
