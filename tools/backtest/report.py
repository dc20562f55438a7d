"""Presenting a backtest: the JSON document and the summary table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from rich.table import Table

from tools.backtest.learning import LearningResult
from tools.backtest.loop import LoopResult
from tools.backtest.results import BacktestResult, Summary

__all__ = [
    "BacktestResult",
    "LearningResult",
    "LoopResult",
    "learning_table",
    "loop_table",
    "summary_table",
    "to_json",
    "write_json",
]


def to_json(result: BacktestResult | LoopResult | LearningResult) -> dict[str, Any]:
    """The ``--json`` document: plain numbers (cores, bytes), null for no limit or undefined."""
    return result.model_dump(mode="json")


def write_json(result: BacktestResult | LoopResult | LearningResult, path: Path) -> None:
    text = json.dumps(to_json(result), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _pct(value: float | None, signed: bool = True, digits: int = 1) -> str:
    """A percentage; |slack| keeps its decimal so the table shows the figures docs quote."""
    if value is None:
        return "—"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"


COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "services"),
    ("cpu slack\nmedian", "median_cpu_slack"),
    ("cpu slack\nmean", "mean_cpu_slack"),
    ("mem slack\nmedian", "median_mem_slack"),
    ("mem slack\nmean", "mean_mem_slack"),
    ("peak slack\nmedian", "median_mem_peak_slack"),
    ("peak slack\nmean", "mean_mem_peak_slack"),
    ("|cpu slack|\nmedian", "median_abs_cpu_slack"),
    ("|mem slack|\nmedian", "median_abs_mem_slack"),
    ("OOM\nevents", "oom_events_total"),
    ("zero\nOOM", "zero_oom_share"),
    ("sat.\n< 1 %", "unsaturated_share"),
    ("all\ngoals", "all_goals_share"),
)
_SHARES = {"zero_oom_share", "unsaturated_share", "all_goals_share"}
_ABSOLUTE = {"median_abs_cpu_slack", "median_abs_mem_slack"}


def _cell(summary: Summary, field: str) -> str:
    value = getattr(summary, field)
    if field in ("services", "oom_events_total"):
        return str(value)
    return _pct(value, signed=field not in _SHARES | _ABSOLUTE, digits=0 if field in _SHARES else 1)


def _why_skipped(result: BacktestResult) -> str:
    """The most common reason services were skipped (all of them: the table is empty)."""
    if not result.skipped:
        return ""
    reasons = Counter(s.reason for s in result.skipped)
    reason, count = reasons.most_common(1)[0]
    return f" ({'all' if count == len(result.skipped) else count}: {reason})"


def summary_table(result: BacktestResult) -> Table:
    """One row per recommender with the summary columns of the benchmark."""
    hours = f", history {result.history_hours:g} h" if result.history_hours is not None else ""
    table = Table(
        title=f"{result.trace} — {result.mode}{hours}",
        caption=f"{len(result.services)} services scored, {len(result.skipped)} skipped"
        + _why_skipped(result),
    )
    table.add_column("recommender", no_wrap=True)
    for header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for name in result.recommenders:
        summary = result.summary[name]
        table.add_row(name, *(_cell(summary, field) for _, field in COLUMNS))
    return table


LOOP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "services"),
    ("OOM\nevents", "oom_events"),
    ("zero\nOOM", "zero_oom_share"),
    ("launch\nOOM", "launch_oom_events"),
    ("launch\nzero OOM", "launch_zero_oom_share"),
    ("cpu slack\nmedian", "median_cpu_slack"),
    ("mem slack\nmedian", "median_mem_slack"),
    ("|cpu slack|\nmedian", "median_abs_cpu_slack"),
    ("|mem slack|\nmedian", "median_abs_mem_slack"),
    ("resizes", "resizes"),
)
_COUNTS = {"services", "oom_events", "launch_oom_events", "resizes"}


def loop_table(result: LoopResult) -> Table:
    """One row per recommender of a closed-loop replay; slack is after the first check."""
    every = result.settings.check_every_s / 3600
    table = Table(
        title=f"{result.trace} — loop, check every {every:g} h",
        caption=f"{len(result.services)} services replayed, {len(result.skipped)} skipped, "
        f"{result.seconds:.1f} s; slack after the first check",
    )
    table.add_column("recommender", no_wrap=True)
    for header, _ in LOOP_COLUMNS:
        table.add_column(header, justify="right")
    for name in result.recommenders:
        summary = result.summary[name]
        cells = []
        for _, field in LOOP_COLUMNS:
            value = getattr(summary, field)
            if field in _COUNTS:
                cells.append(str(value))
            else:
                signed = field.startswith("median_c") or field == "median_mem_slack"
                cells.append(
                    _pct(value, signed=signed, digits=0 if field.endswith("_share") else 1)
                )
        table.add_row(name, *cells)
    return table


LEARNING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "services"),
    ("cpu error\nmedian", "median_cpu_error"),
    ("mem error\nmedian", "median_mem_error"),
    ("|cpu slack|\nmedian", "median_abs_cpu_slack"),
    ("|mem slack|\nmedian", "median_abs_mem_slack"),
    ("peak slack\nmedian", "median_mem_peak_slack"),
    ("OOM\nevents", "oom_events"),
    ("zero\nOOM", "zero_oom_share"),
)


def learning_table(result: LearningResult) -> Table:
    """Cold start of the second half before and after learning from the first half."""
    table = Table(
        title=f"{result.trace} — learning: {len(result.outcomes)} outcomes, "
        f"{len(result.services)} services predicted",
        caption="error = median |log(request / p95 used)|; "
        + ("; ".join(result.factors) if result.factors else "no correction learnt"),
    )
    table.add_column("cold start", no_wrap=True)
    for header, _ in LEARNING_COLUMNS:
        table.add_column(header, justify="right")
    for name, arm in (("before", result.before), ("after", result.after)):
        cells = []
        for _, field in LEARNING_COLUMNS:
            value = getattr(arm, field)
            if field in ("services", "oom_events"):
                cells.append(str(value))
            elif field.endswith("_error"):
                cells.append("—" if value is None else f"{value:.3f}")
            else:
                share = field.endswith("_share")
                cells.append(
                    _pct(value, signed=field == "median_mem_peak_slack", digits=0 if share else 1)
                )
        table.add_row(name, *cells)
    return table
