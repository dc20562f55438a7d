"""Presenting a backtest: the JSON document and the summary table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from tools.backtest.results import BacktestResult, Summary


def to_json(result: BacktestResult) -> dict[str, Any]:
    """The ``--json`` document: plain numbers (cores, bytes), null for no limit or undefined."""
    return result.model_dump(mode="json")


def write_json(result: BacktestResult, path: Path) -> None:
    text = json.dumps(to_json(result), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:+.1%}" if signed else f"{value:.0%}"


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
    return _pct(value, signed=field not in _SHARES | _ABSOLUTE)


def summary_table(result: BacktestResult) -> Table:
    """One row per recommender with the summary columns of the benchmark."""
    hours = f", history {result.history_hours:g} h" if result.history_hours is not None else ""
    table = Table(
        title=f"{result.trace} — {result.mode}{hours}",
        caption=f"{len(result.services)} services scored, {len(result.skipped)} skipped",
    )
    table.add_column("recommender", no_wrap=True)
    for header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for name in result.recommenders:
        summary = result.summary[name]
        table.add_row(name, *(_cell(summary, field) for _, field in COLUMNS))
    return table
