"""Per-recommender aggregates over the scored services, and the benchmark's per-service goals.

Slack values that are undefined for a service (nothing provisioned, e.g. no memory limit for
``mem_peak_slack``) are left out of that slack's median and mean, and the service then does not
meet the goals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.backtest.results import ServiceResult, Summary
from tools.sizing.scoring import SizeMetrics

# The seed's goal: requests within 10 % of what the service really uses.
SLACK_GOAL = 0.10
# Benchmark goal for cpu_saturated_share: below 1 % of samples.
SATURATION_GOAL = 0.01


def meets_goals(m: SizeMetrics) -> bool:
    """|cpu_slack| and |mem_slack| <= 10 %, zero OOM events, saturation below 1 %."""
    return (
        m.cpu_slack is not None
        and m.mem_slack is not None
        and abs(m.cpu_slack) <= SLACK_GOAL
        and abs(m.mem_slack) <= SLACK_GOAL
        and m.oom_events == 0
        and m.cpu_saturated_share < SATURATION_GOAL
    )


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _abs(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else abs(v) for v in values]


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def summarise(services: Sequence[ServiceResult], recommender: str) -> Summary:
    metrics = [
        s.recommenders[recommender].metrics for s in services if recommender in s.recommenders
    ]
    cpu = [m.cpu_slack for m in metrics]
    mem = [m.mem_slack for m in metrics]
    peak = [m.mem_peak_slack for m in metrics]
    return Summary(
        services=len(metrics),
        median_cpu_slack=_median(cpu),
        mean_cpu_slack=_mean(cpu),
        median_mem_slack=_median(mem),
        mean_mem_slack=_mean(mem),
        median_mem_peak_slack=_median(peak),
        mean_mem_peak_slack=_mean(peak),
        median_abs_cpu_slack=_median(_abs(cpu)),
        median_abs_mem_slack=_median(_abs(mem)),
        oom_events_total=sum(m.oom_events for m in metrics),
        zero_oom_share=_share([m.oom_events == 0 for m in metrics]),
        unsaturated_share=_share([m.cpu_saturated_share < SATURATION_GOAL for m in metrics]),
        all_goals_share=_share([meets_goals(m) for m in metrics]),
    )
