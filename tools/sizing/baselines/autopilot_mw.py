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
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.baselines._describe import bytes_text, cores_text, describe_window
from tools.sizing.models import FloatArray, IntArray, Policy, Reason, Recommendation, UsageHistory

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


def weighted_percentile(values: FloatArray, weights: FloatArray, percentile: float) -> float:
    """Smallest value whose cumulative weight reaches ``percentile`` % of the total weight."""
    total = float(weights.sum())
    if len(values) == 0 or total <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, percentile / 100 * total, side="left"))
    return float(values[order][min(index, len(values) - 1)])


def _decay(windows: IntArray, now: int, half_life_s: float) -> FloatArray:
    """2^(−age / half-life), age counted in whole 5-minute windows as in the paper."""
    return np.asarray(np.exp2(-((now - windows) * WINDOW_S) / half_life_s), dtype=np.float64)


def _evaluation_windows(windows: IntArray, stabilisation_s: int) -> IntArray:
    """The 5-minute windows at whose end a recommendation is made, within the last T_stable."""
    last = int(windows.max())
    span = max(stabilisation_s // WINDOW_S - 1, 0)
    present = np.unique(windows)
    return present[present >= last - span]


def cpu_statistic(
    cpu: FloatArray, windows: IntArray, now: int, settings: AutopilotSettings
) -> float:
    """S_pj of the load-adjusted, decayed CPU histogram made at the end of window ``now``."""
    seen = windows <= now
    values = cpu[seen]
    weights = values * _decay(windows[seen], now, settings.cpu_half_life_hours * 3600)
    return weighted_percentile(values, weights, settings.cpu_percentile)


def memory_statistic(
    memory: FloatArray, windows: IntArray, now: int, settings: AutopilotSettings
) -> float:
    """S_max (or S_pj) of the decayed memory histogram made at the end of window ``now``."""
    seen = windows <= now
    values = memory[seen]
    if settings.memory_percentile is None:
        return float(values.max()) if len(values) else 0.0
    weights = _decay(windows[seen], now, settings.memory_half_life_hours * 3600)
    return weighted_percentile(values, weights, settings.memory_percentile)


def recommend(
    history: UsageHistory, policy: Policy, settings: AutopilotSettings | None = None
) -> Recommendation:
    """Moving-window recommendation at the end of ``history``.

    The policy's minimum CPU and memory are the only floors, so a service that used nothing
    still gets a schedulable size.
    """
    settings = settings or AutopilotSettings()
    if history.samples == 0:
        raise ValueError(f"service {history.service}: Autopilot needs at least one sample")
    windows = np.concatenate([p.timestamps for p in history.pods]) // WINDOW_S
    cpu = history.concat("cpu")
    memory = history.concat("memory")
    margin = 1 + settings.safety_margin
    at = _evaluation_windows(windows, settings.stabilisation_window_s)
    cpu_recs = [cpu_statistic(cpu, windows, int(now), settings) * margin for now in at]
    mem_recs = [memory_statistic(memory, windows, int(now), settings) * margin for now in at]
    cpu_stat, mem_stat = max(cpu_recs) / margin, max(mem_recs) / margin
    cpu_request = max(max(cpu_recs), policy.min_cpu_cores)
    # whole bytes, rounded up; round() first so 1e8 × 1.1 does not become 110000001
    mem_request = math.ceil(round(max(max(mem_recs), float(policy.min_memory_bytes)), 3))
    window = describe_window(history)
    hours = settings.stabilisation_window_s / 3600
    stable = f"max over {len(at)} recommendations in the last {hours:g} h"
    mem_name = "max" if settings.memory_percentile is None else f"p{settings.memory_percentile:g}"
    reasons = (
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
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=max(history.replicas(), 1),
        cpu_request_cores=cpu_request,
        cpu_limit_cores=cpu_request if settings.cpu_limit else None,
        memory_request_bytes=mem_request,
        memory_limit_bytes=mem_request,
        confidence=1.0,
        reasons=reasons,
    )
