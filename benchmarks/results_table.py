"""Markdown tables of backtest JSON files (as written by ``sizer backtest --json``).

python benchmarks/results_table.py docs/results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} %"


def magnitude(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def table(path: Path) -> str:
    body = json.loads(path.read_text())
    head = f"#### {body['trace']} — {body['mode']}"
    if body["mode"] == "rightsize":
        head += f", history {body['history_hours']:g} h"
    scored = len(body["services"])
    lines = [
        head,
        "",
        f"{scored} services scored, {len(body['skipped'])} skipped.",
        "",
        "| recommender | median cpu slack | median \\|cpu slack\\| | median mem slack "
        "| median \\|mem slack\\| | median peak slack | OOM events | zero-OOM services "
        "| unsaturated | all goals |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in body["summary"].items():
        lines.append(
            f"| {name} | {pct(s['median_cpu_slack'])} | {magnitude(s['median_abs_cpu_slack'])} "
            f"| {pct(s['median_mem_slack'])} | {magnitude(s['median_abs_mem_slack'])} "
            f"| {pct(s['median_mem_peak_slack'])} | {s['oom_events_total']} "
            f"| {share(s['zero_oom_share'])} | {share(s['unsaturated_share'])} "
            f"| {share(s['all_goals_share'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    for name in sys.argv[1:]:
        path = Path(name)
        if json.loads(path.read_text())["services"]:
            print(table(path))


if __name__ == "__main__":
    main()
