"""Google Autopilot's moving-window recommender, as a baseline.

From Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys 2020, section 3.2.
Usage arrives as 5-minute windows; the windows are merged into one histogram whose weights
decay as 2^(−age / half-life). CPU uses the j-th percentile of the *load-adjusted* histogram
(each sample weighted by its own value, so the percentile bounds the share of CPU *work* done
below it, not the share of time) with j = 95 for serving jobs and a 12 h half-life; memory uses
the maximum (the variant for jobs that tolerate no OOM) with a 48 h half-life. A 10 % safety
margin is added and the final recommendation is the maximum of the recommendations made over
the last hour, so it does not drop the moment load does.

Samples are the trace's raw samples (60 s or 300 s averages) instead of Borg's per-second
ones; the histogram is kept unbinned (each sample its own bucket), the exact limit of the
paper's fine buckets. A recommendation is computed at the end of every 5-minute window.
Borg enforces the recommendation as the task's limit, so it is both request and limit here
(the CPU limit can be switched off in the settings).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.baselines._describe import bytes_text, cores_text, describe_window
from tools.sizing.models import FloatArray, IntArray, Policy, Reason, Recommendation, UsageHistory
from tools.sizing.spans import Proposal

NAME = "autopilot-mw"

# Rzadca et al. 2020, sec. 3.1: usage is aggregated into 5-minute windows.
WINDOW_S = 300
# Sec. 3.2: half-life of the CPU histogram weights, 12 hours.
CPU_HALF_LIFE_HOURS = 12.0
# Sec. 3.2: half-life of the memory histogram weights, 48 hours.
MEMORY_HALF_LIFE_HOURS = 48.0
# Sec. 3.2: S_p95 of the load-adjusted histogram is the CPU recommendation for serving jobs.
CPU_PERCENTILE = 95.0
# Sec. 3.2: S_max for memory of jobs with minimal OOM tolerance.
MEMORY_STATISTIC: Literal["max"] = "max"
# Sec. 3.2: safety margin added to the statistic, 10 %.
SAFETY_MARGIN = 0.10
# Sec. 3.2: the recommendation is the maximum over the last T_stable = 1 hour of recommendations.
STABILISATION_WINDOW_S = 3600


class AutopilotSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_half_life_hours: float = Field(CPU_HALF_LIFE_HOURS, gt=0, le=24 * 365)
    memory_half_life_hours: float = Field(MEMORY_HALF_LIFE_HOURS, gt=0, le=24 * 365)
    cpu_percentile: float = Field(CPU_PERCENTILE, gt=0, le=100)
    memory_percentile: float | None = Field(
        None, gt=0, le=100, description="None: S_max; otherwise S_pj of the decayed histogram"
    )
    safety_margin: float = Field(SAFETY_MARGIN, ge=0, le=10)
    stabilisation_window_s: int = Field(STABILISATION_WINDOW_S, ge=0, le=7 * 86400)
    cpu_limit: bool = Field(True, description="enforce the CPU recommendation as the limit")


def decay(windows: IntArray, now: int, half_life_s: float) -> FloatArray:
    """2^(−age / half-life), age counted in whole 5-minute windows as in the paper."""
    return np.asarray(np.exp2(-((now - windows) * WINDOW_S) / half_life_s), dtype=np.float64)


def _evaluation_windows(windows: IntArray, stabilisation_s: int) -> IntArray:
    """The 5-minute windows at whose end a recommendation is made, within the last T_stable."""
    last = int(windows.max())
    span = max(stabilisation_s // WINDOW_S - 1, 0)
    return np.unique(windows[windows >= last - span])


def decayed_percentiles(
    values: FloatArray,
    windows: IntArray,
    at: IntArray,
    half_life_s: float,
    percentile: float,
    *,
    load_adjusted: bool,
) -> list[float]:
    """The weighted percentile at the end of each window in ``at``, sorting the values once.

    Each is the smallest value whose cumulative weight reaches ``percentile`` % of the total
    weight of the samples seen by then; weights decay as 2^(−age / half-life), times the value
    itself when ``load_adjusted``. Decay is exponential, so the weights seen at an earlier
    window are the latest window's weights times one constant, and a percentile ignores
    scale: every window can use the latest weights, masked to what it had seen.
    """
    if len(values) == 0:
        return [0.0 for _ in at]
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    ordered_windows = windows[order]
    base = decay(ordered_windows, int(at.max()), half_life_s)
    if load_adjusted:
        base = base * ordered
    # One row per evaluation window: the weights it had seen, accumulated in value order.
    cumulative = np.cumsum(np.where(ordered_windows[None, :] <= at[:, None], base, 0.0), axis=1)
    totals = cumulative[:, -1]
    # The first position whose cumulative weight reaches the share (searchsorted, row-wise).
    reached = cumulative >= (percentile / 100 * totals)[:, None]
    index = np.minimum(reached.argmax(axis=1), len(ordered) - 1)
    return [float(ordered[i]) if t > 0 else 0.0 for i, t in zip(index, totals, strict=True)]


def recommend(
    history: UsageHistory, policy: Policy, settings: AutopilotSettings | None = None
) -> Recommendation:
    """Moving-window recommendation at the end of ``history``.

    The policy's minimum CPU and memory are the only floors, so a service that used nothing
    still gets a schedulable size.
    """
    settings = settings or AutopilotSettings()
    return proposal(history, policy, settings, *window_statistics(history, settings)).make()


def window_statistics(
    history: UsageHistory, settings: AutopilotSettings
) -> tuple[int, list[float], list[float]]:
    """The number of evaluations in the last T_stable and the CPU and memory statistic at each."""
    if history.samples == 0:
        raise ValueError(f"service {history.service}: Autopilot needs at least one sample")
    windows = np.concatenate([p.timestamps for p in history.pods]) // WINDOW_S
    cpu = history.concat("cpu")
    memory = history.concat("memory")
    at = _evaluation_windows(windows, settings.stabilisation_window_s)
    cpu_stats = decayed_percentiles(
        cpu,
        windows,
        at,
        settings.cpu_half_life_hours * 3600,
        settings.cpu_percentile,
        load_adjusted=True,
    )
    if settings.memory_percentile is None:
        seen = windows[None, :] <= at[:, None]
        mem_stats = [float(v) for v in np.where(seen, memory[None, :], -np.inf).max(axis=1)]
    else:
        mem_stats = decayed_percentiles(
            memory,
            windows,
            at,
            settings.memory_half_life_hours * 3600,
            settings.memory_percentile,
            load_adjusted=False,
        )
    return len(at), cpu_stats, mem_stats


def proposal(
    history: UsageHistory | Callable[[], UsageHistory],
    policy: Policy,
    settings: AutopilotSettings,
    evaluations: int,
    cpu_stats: list[float],
    mem_stats: list[float],
) -> Proposal:
    """The size from the statistic at each of the last T_stable's evaluations; the reasons are
    written when its recommendation is made (a replay applies few of the sizes it is given),
    from ``history`` (or what it returns: a replay need not cut a window it never reads)."""
    margin = 1 + settings.safety_margin
    cpu_recs = [v * margin for v in cpu_stats]
    mem_recs = [v * margin for v in mem_stats]
    cpu_request = max(max(cpu_recs), policy.min_cpu_cores)
    # whole bytes, rounded up; round() first so 1e8 × 1.1 does not become 110000001
    mem_request = math.ceil(round(max(max(mem_recs), float(policy.min_memory_bytes)), 3))
    cpu_limit = cpu_request if settings.cpu_limit else None

    def make() -> Recommendation:
        cpu_stat, mem_stat = max(cpu_recs) / margin, max(mem_recs) / margin
        read = history() if callable(history) else history
        return Recommendation(
            service=read.service,
            strategy=NAME,
            replicas=max(read.replicas(), 1),
            cpu_request_cores=cpu_request,
            cpu_limit_cores=cpu_limit,
            memory_request_bytes=mem_request,
            memory_limit_bytes=mem_request,
            confidence=1.0,
            reasons=_reasons(
                read, settings, evaluations, cpu_request, mem_request, cpu_stat, mem_stat
            ),
        )

    return Proposal(cpu_request, cpu_limit, mem_request, mem_request, make)


def _reasons(
    history: UsageHistory,
    settings: AutopilotSettings,
    evaluations: int,
    cpu_request: float,
    mem_request: int,
    cpu_stat: float,
    mem_stat: float,
) -> tuple[Reason, ...]:
    window = describe_window(history)
    hours = settings.stabilisation_window_s / 3600
    stable = f"max over {evaluations} recommendations in the last {hours:g} h"
    mem_name = "max" if settings.memory_percentile is None else f"p{settings.memory_percentile:g}"
    return (
        Reason(
            field="cpu_request",
            value=cpu_request,
            statistic=f"p{settings.cpu_percentile:g} of load-adjusted decaying CPU histogram "
            f"(half-life {settings.cpu_half_life_hours:g} h), {stable}",
            window=window,
            margin=settings.safety_margin,
            text=f"Autopilot: CPU p{settings.cpu_percentile:g} weighted by load "
            f"{cores_text(cpu_stat)} + {settings.safety_margin:.0%}, highest in the last hour.",
        ),
        Reason(
            field="cpu_limit",
            value=cpu_request if settings.cpu_limit else None,
            statistic="the recommendation" if settings.cpu_limit else "none",
            window=window,
            text="Borg enforces the recommendation as the CPU limit."
            if settings.cpu_limit
            else "No CPU limit.",
        ),
        Reason(
            field="memory_request",
            value=float(mem_request),
            statistic=f"{mem_name} of decaying memory histogram "
            f"(half-life {settings.memory_half_life_hours:g} h), {stable}",
            window=window,
            margin=settings.safety_margin,
            text=f"Autopilot: memory {mem_name} {bytes_text(mem_stat)} + "
            f"{settings.safety_margin:.0%} (minimal OOM tolerance).",
        ),
        Reason(
            field="memory_limit",
            value=float(mem_request),
            statistic="the recommendation",
            window=window,
            text="Borg enforces the memory recommendation as the limit.",
        ),
    )
