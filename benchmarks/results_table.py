"""Markdown tables of backtest JSON files (as written by ``sizer backtest --json``).

python benchmarks/results_table.py docs/results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} %"


def magnitude(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def loop_table(body: dict[str, Any]) -> str:
    every = body["settings"]["check_every_s"] / 3600
    tick = body["settings"]["tick_s"] / 3600
    lines = [
        f"#### {body['trace']} — loop, check every {every:g} h, continuous tick {tick:g} h",
        "",
        f"{len(body['services'])} services replayed in {body['seconds']:.1f} s; slack after the "
        "first check.",
        "",
        "| recommender | OOM events | zero-OOM services | launch OOM events | launch zero-OOM "
        "| median cpu slack | median mem slack | median \\|cpu slack\\| "
        "| median \\|mem slack\\| | resizes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in body["summary"].items():
        lines.append(
            f"| {name} | {s['oom_events']} | {share(s['zero_oom_share'])} "
            f"| {s['launch_oom_events']} | {share(s['launch_zero_oom_share'])} "
            f"| {pct(s['median_cpu_slack'])} | {pct(s['median_mem_slack'])} "
            f"| {magnitude(s['median_abs_cpu_slack'])} | {magnitude(s['median_abs_mem_slack'])} "
            f"| {s['resizes']} |"
        )
    return "\n".join(lines) + "\n"


def learning_table(body: dict[str, Any]) -> str:
    lines = [
        f"#### {body['trace']} — learning: {len(body['outcomes'])} outcomes, "
        f"{len(body['services'])} services predicted",
        "",
        "| cold start | cpu error | mem error | median \\|cpu slack\\| | median \\|mem slack\\| "
        "| median peak slack | OOM events | zero-OOM services |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for arm in ("before", "after"):
        s = body[arm]
        lines.append(
            f"| {arm} | {s['median_cpu_error']:.3f} | {s['median_mem_error']:.3f} "
            f"| {magnitude(s['median_abs_cpu_slack'])} | {magnitude(s['median_abs_mem_slack'])} "
            f"| {pct(s['median_mem_peak_slack'])} | {s['oom_events']} "
            f"| {share(s['zero_oom_share'])} |"
        )
    lines += ["", "Learnt: " + ("; ".join(body["factors"]) or "nothing") + "."]
    return "\n".join(lines) + "\n"


def table(path: Path) -> str:
    body = json.loads(path.read_text())
    if body["mode"] == "loop":
        return loop_table(body)
    if body["mode"] == "learning":
        return learning_table(body)
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
