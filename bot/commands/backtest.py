"""``sizer backtest``: replay a trace directory and score Sizer against the baselines.

Prints one summary row per recommender; ``--json OUT`` writes every recommendation with its
metrics so they can be recomputed from the trace. ``--mode loop`` replays the whole trace in
a closed loop (launch from the cold-start size, react to kills, re-size at every check);
``--mode learning`` calibrates cold start on the outcomes of the first half of the services
and predicts the rest. A malformed trace is reported as one line,
``sizer backtest: <file>:<line>: <reason>``, with exit status 2; so is a flag the chosen
mode does not read (:data:`READ_BY`), since a silently ignored flag reads as a result it
did not produce.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.backtest.learning import LearningResult
    from tools.backtest.loop import LoopResult
    from tools.backtest.results import BacktestResult, Mode
    from tools.traces import Trace

NAME = "backtest"
HELP = "replay a trace directory and score Sizer's sizes against the baselines"

MAX_HISTORY_HOURS = 24 * 365 * 10
TABLE_WIDTH = 160
MAX_JOBS = 64
LOOP = "loop"
LEARNING = "learning"
# Defaults of tools.backtest.loop.LoopSettings, restated so --help imports no engine.
DEFAULT_CHECK_EVERY_S = 6 * 3600
DEFAULT_TICK_S = 3600
# Which modes read each mode-specific flag (as parsed, dest -> flag, modes). --json and
# --quiet apply to every mode: a mode without a progress bar is already quiet.
READ_BY: dict[str, tuple[str, tuple[str, ...]]] = {
    "history_hours": ("--history-hours", ("rightsize",)),
    "check_every": ("--check-every", (LOOP,)),
    "tick": ("--tick", (LOOP,)),
    "jobs": ("--jobs", (LOOP,)),
    "recommenders": ("--recommenders", ("rightsize", "cold-start", LOOP)),
}
_DURATION = re.compile(r"\A(\d+(?:\.\d+)?)([mhd])\Z")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> int:
    """``30m``, ``6h``, ``1d`` as seconds (5 minutes to 30 days)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}; use e.g. 30m, 6h or 1d")
    seconds = round(float(match.group(1)) * _UNIT_S[match.group(2)])
    if not 300 <= seconds <= 30 * 86400:
        raise argparse.ArgumentTypeError(f"duration {text!r} must be between 5m and 30d")
    return seconds


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not 0 < value <= MAX_HISTORY_HOURS:
        raise argparse.ArgumentTypeError(f"history hours must be in (0, {MAX_HISTORY_HOURS}]")
    return value


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number from 1 to {MAX_JOBS}")
    return int(text)


def register(parser: argparse.ArgumentParser) -> None:
    from tools.backtest.results import MODES
    from tools.backtest.runner import DEFAULT_HISTORY_HOURS

    parser.add_argument("trace_dir", metavar="TRACE_DIR", type=Path, help="trace directory")
    parser.add_argument(
        "--mode",
        choices=(*MODES, LOOP, LEARNING),
        default="rightsize",
        help="default: rightsize; learning: calibrate on the first half of the services, "
        "predict the rest",
    )
    parser.add_argument(
        "--history-hours",
        type=_hours,
        metavar="H",
        help=f"rightsize: hours of history before the split (default {DEFAULT_HISTORY_HOURS:g})",
    )
    parser.add_argument(
        "--check-every",
        type=_duration,
        metavar="DURATION",
        help="loop: time between checks (default 6h)",
    )
    parser.add_argument(
        "--tick",
        type=_duration,
        metavar="DURATION",
        help="loop: how often VPA and Autopilot re-size (default 1h)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the full result here")
    parser.add_argument(
        "--recommenders",
        metavar="NAMES",
        help="all but learning: comma-separated, e.g. sizer,vpa (default: all of the mode's)",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="loop: services replayed in N processes at once (default: one per CPU)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (rightsize and cold-start show one)"
    )


def _check_mode_flags(args: argparse.Namespace) -> None:
    """Refuse a flag the chosen mode does not read (the flags default to None, so given = set)."""
    for dest, (flag, modes) in READ_BY.items():
        if getattr(args, dest) is not None and args.mode not in modes:
            where = " or ".join(", ".join(modes).rsplit(", ", 1))
            raise UsageError(f"{flag} applies to --mode {where} only, not --mode {args.mode}")


def _recommenders(text: str | None, mode: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    from tools.backtest.loop import LOOP as LOOP_RECOMMENDERS
    from tools.backtest.runner import available

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = tuple(LOOP_RECOMMENDERS) if mode == LOOP else available(mode)  # type: ignore[arg-type]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(
            f"unknown recommender {', '.join(unknown) or '(none given)'} for --mode {mode}; "
            f"choose from {','.join(known)}"
        )
    return tuple(dict.fromkeys(names))


def _write(result: BacktestResult | LoopResult | LearningResult, path: Path | None) -> None:
    if path is None:
        return
    from tools.backtest import report

    try:
        report.write_json(result, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _print(table: object) -> None:
    from rich.console import Console

    # a pipe or file gets the whole table rather than an 80-column squeeze
    Console(width=None if sys.stdout.isatty() else TABLE_WIDTH).print(table)


def _load(path: Path) -> Trace:
    from tools.traces import TraceError, load_trace

    try:
        return load_trace(path)
    except TraceError as exc:
        raise UsageError(str(exc)) from None


def _loop(args: argparse.Namespace, settings: Settings, only: tuple[str, ...] | None) -> int:
    from tools.backtest import report
    from tools.backtest.loop import LoopSettings, loop_recommenders, run_loop

    trace = _load(args.trace_dir)
    check_every = args.check_every if args.check_every is not None else DEFAULT_CHECK_EVERY_S
    tick = args.tick if args.tick is not None else DEFAULT_TICK_S
    loop = LoopSettings(check_every_s=check_every, tick_s=min(tick, check_every))
    started = time.perf_counter()
    result = run_loop(
        trace,
        settings=loop,
        policy=settings.policy,
        only=only,
        recommenders=loop_recommenders(settings.rightsize, check_every_s=loop.check_every_s),
        coldstart_settings=settings.coldstart,
        jobs=args.jobs if args.jobs is not None else os.cpu_count() or 1,
    )
    result = result.model_copy(update={"seconds": round(time.perf_counter() - started, 2)})
    _write(result, args.json)
    _print(report.loop_table(result))
    return 0


def _learning(args: argparse.Namespace, settings: Settings) -> int:
    from tools.backtest import report
    from tools.backtest.learning import run_learning

    trace = _load(args.trace_dir)
    try:
        result = run_learning(trace, policy=settings.policy, coldstart_settings=settings.coldstart)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _write(result, args.json)
    _print(report.learning_table(result))
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    _check_mode_flags(args)
    if args.mode == LEARNING:
        return _learning(args, settings)
    if args.mode == LOOP:
        return _loop(args, settings, _recommenders(args.recommenders, LOOP))
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tools.backtest import report
    from tools.backtest.recommenders import cold_start_recommenders, rightsize_recommenders
    from tools.backtest.runner import DEFAULT_HISTORY_HOURS, run_backtest
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
            history_hours=args.history_hours
            if args.history_hours is not None
            else DEFAULT_HISTORY_HOURS,
            only=only,
            policy=settings.policy,
            rightsize_recommenders=rightsize_recommenders(settings.rightsize),
            cold_start_recommenders=cold_start_recommenders(settings.coldstart),
            on_service=advance,
        )
    _write(result, args.json)
    _print(report.summary_table(result))
    return 0
