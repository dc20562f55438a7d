"""Right-size strategy: a workload's own history → per-pod requests and limits.

Requests aim at what the benchmark and the scheduler care about — the p95 of 5-minute usage
in the coming day — so they are a recency-weighted p95 of the history, plus memory growth
projected forward when the history shows a clear trend. Limits guard the tail: the memory
limit sits above the largest raw sample seen, by a margin that is wide when history is short
and narrows as it grows (a 12 h history has not seen a whole day); the CPU limit, when the
policy asks for one, sits well above the largest burst so throttling stays rare.

What baselines miss and this strategy handles:

- memory growth within the window (trend on hourly medians, only when R² says it is real);
- startup peaks and short spikes (limits from raw maxima, requests from 5-min p95);
- little history (margins scale with sqrt(24 h / history), bounded);
- gaps and several pods (all quantities are per pod, over the windows that have samples).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import FloatArray, Policy, Reason, Recommendation, UsageHistory
from tools.sizing.quantities import format_cpu, format_memory
from tools.sizing.stats import linear_trend, recency_weights, weighted_quantile, window_series

NAME = "sizer-rightsize"


class InsufficientHistory(ValueError):
    """Too little history to right-size from; size as a new service instead."""


class RightsizeSettings(BaseModel):
    """Tuning of the right-size strategy; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    quantile: float = Field(0.95, ge=0.5, le=0.999, description="request target quantile")
    half_life_h: float | None = Field(
        12.0, gt=0, le=24 * 90, description="recency weighting of 5-min windows; None = equal"
    )
    request_widening: float = Field(
        0.1,
        ge=0,
        le=1,
        description="request margin = this × dispersion (p95−p50)/p95 × (sqrt(24h/history)−1)",
    )
    peak_margin: float = Field(
        0.05, ge=0, le=2, description="memory limit over max for stable use and long history"
    )
    peak_volatility: float = Field(
        0.6,
        ge=0,
        le=5,
        description="extra limit margin × volatility², volatility = (max−p50)/max of memory",
    )
    peak_widening: float = Field(
        0.05, ge=0, le=2, description="extra limit margin × sqrt(24h/history)"
    )
    trend_request_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of the projected growth added to the request (mid-horizon level)",
    )
    trend_min_r2: float = Field(0.6, ge=0, le=1, description="fit quality to believe a trend")
    horizon_h: float = Field(24.0, gt=0, le=24 * 30, description="how far ahead sizes must hold")
    cpu_burst_ratio: float = Field(
        4.0, ge=1, le=50, description="CPU limit at least this multiple of the request"
    )
    cpu_burst_margin: float = Field(0.5, ge=0, le=10, description="CPU limit over max burst")
    cpu_limit_floor: float = Field(
        0.1, ge=0, le=8, description="smallest CPU limit: below ~100m CFS quotas throttle badly"
    )
    peak_headroom_bytes: int = Field(
        96 * 2**20,
        ge=0,
        le=2**34,
        description="absolute headroom over the peak: transient extras (an exec'd shell, a "
        "profiler, an injected fault) add about the same bytes whatever the service's size",
    )
    min_windows: int = Field(6, ge=1, le=10_000, description="5-min windows needed at least")


def _widening(hours: float) -> float:
    """0 for a day or more of history, growing as sqrt(24/h) − 1 below it."""
    return max(math.sqrt(24.0 / max(hours, 0.25)) - 1.0, 0.0)


def recommend(
    history: UsageHistory, policy: Policy, settings: RightsizeSettings | None = None
) -> Recommendation:
    """Per-pod size for the next ``horizon_h`` hours from the workload's own history."""
    s = settings or RightsizeSettings()
    cpu_t, cpu5 = window_series(history.pods, memory=False)
    mem_t, mem5 = window_series(history.pods, memory=True)
    if len(cpu5) < s.min_windows:
        raise InsufficientHistory(
            f"{history.service} has {len(cpu5)} five-minute windows of history; "
            f"right-sizing needs at least {s.min_windows}"
        )
    now = history.end
    hours = (history.end - history.start) / 3600.0
    pods = len(history.pods)
    replicas = max(history.replicas(), 1)
    window = (
        f"{hours:.1f} h to {format_time(now)}, {len(cpu5)} five-minute windows, "
        f"{pods} pod{'s' if pods != 1 else ''}"
    )
    widen = _widening(hours)
    pct = f"p{s.quantile * 100:g}"
    weighting = f", recency half-life {s.half_life_h:g} h" if s.half_life_h else ""

    # CPU request
    cpu_q = weighted_quantile(cpu5, recency_weights(cpu_t, now, s.half_life_h), s.quantile)
    cpu_margin = s.request_widening * dispersion(cpu5) * widen
    cpu_req = max(cpu_q * (1 + cpu_margin), policy.min_cpu_cores)
    floored = cpu_req > cpu_q * (1 + cpu_margin)
    reasons = [
        Reason(
            field="cpu_request",
            value=cpu_req,
            statistic=f"{pct} of 5-min mean CPU{weighting}",
            window=window,
            margin=cpu_margin,
            text=f"{pct} of 5-minute CPU was {format_cpu(cpu_q)}"
            + (f"; +{cpu_margin:.0%} because history is short" if cpu_margin else "")
            + (f"; raised to the policy minimum {format_cpu(cpu_req)}" if floored else ""),
        )
    ]

    # Memory request, with growth projected over the horizon when it is real
    mem_q = weighted_quantile(mem5, recency_weights(mem_t, now, s.half_life_h), s.quantile)
    slope_h, r2 = linear_trend(mem_t, mem5)
    growing = slope_h > 0 and r2 >= s.trend_min_r2
    projection_h = min(s.horizon_h, hours)
    growth = slope_h * s.trend_request_share * projection_h if growing else 0.0
    mem_margin = s.request_widening * dispersion(mem5) * widen
    mem_req = max((mem_q + growth) * (1 + mem_margin), float(policy.min_memory_bytes))
    trend_text = (
        f"; memory grows {format_memory(slope_h)}/h (R² {r2:.2f}), "
        f"+{format_memory(growth)} projected over {projection_h:.0f} h"
        if growing
        else ""
    )
    reasons.append(
        Reason(
            field="memory_request",
            value=mem_req,
            statistic=f"{pct} of 5-min mean memory{weighting}"
            + (" + linear growth" if growing else ""),
            window=window,
            margin=mem_margin,
            text=f"{pct} of 5-minute memory was {format_memory(mem_q)}{trend_text}"
            + (f"; +{mem_margin:.0%} because history is short" if mem_margin else ""),
        )
    )

    # Memory limit: above every raw sample seen, margin wider on short history
    mem_raw = history.concat("memory")
    mem_max = float(mem_raw.max())
    volatility = (mem_max - float(np.median(mem_raw))) / mem_max if mem_max > 0 else 0.0
    peak_margin = (
        s.peak_margin
        + s.peak_volatility * volatility**2
        + s.peak_widening * math.sqrt(24.0 / max(hours, 0.25))
    )
    peak_growth = slope_h * projection_h if growing else 0.0
    peak_cover = max(
        (mem_max + peak_growth) * (1 + peak_margin), mem_max + peak_growth + s.peak_headroom_bytes
    )
    if policy.memory_limit == "equal-request":
        mem_req = max(mem_req, peak_cover)
        mem_lim = mem_req
        limit_text = (
            f"policy sets the limit equal to the request, so both cover the peak "
            f"{format_memory(mem_max)} +{peak_margin:.0%}"
        )
    else:
        mem_lim = max(peak_cover, mem_req)
        limit_text = (
            f"largest sample was {format_memory(mem_max)}; the larger of +{peak_margin:.0%} "
            f"(volatility {volatility:.2f}, {hours:.1f} h of history) and "
            f"+{format_memory(s.peak_headroom_bytes)} for transient extras"
        ) + (f" and +{format_memory(peak_growth)} projected growth" if peak_growth else "")
    reasons.append(
        Reason(
            field="memory_limit",
            value=mem_lim,
            statistic="max of raw memory samples" + (" + linear growth" if peak_growth else ""),
            window=window,
            margin=peak_margin,
            text=limit_text,
        )
    )

    # CPU limit
    cpu_max = float(history.concat("cpu").max())
    cpu_lim: float | None = None
    if policy.cpu_limit == "burst":
        cpu_lim = max(
            cpu_max * (1 + s.cpu_burst_margin), cpu_req * s.cpu_burst_ratio, s.cpu_limit_floor
        )
        cpu_limit_text = (
            f"largest burst was {format_cpu(cpu_max)}; limit is the largest of burst "
            f"+{s.cpu_burst_margin:.0%}, {s.cpu_burst_ratio:g}× the request and "
            f"{format_cpu(s.cpu_limit_floor)}"
        )
    else:
        cpu_limit_text = "policy sets no CPU limit; pods may use idle CPU on the node"
    reasons.append(
        Reason(
            field="cpu_limit",
            value=cpu_lim,
            statistic="max of raw CPU samples" if cpu_lim is not None else "policy",
            window=window,
            margin=s.cpu_burst_margin if cpu_lim is not None else 0.0,
            text=cpu_limit_text,
        )
    )

    confidence = history_confidence(hours, len(cpu5), history.interval_s, pods)
    reasons.append(
        Reason(
            field="replicas",
            value=replicas,
            statistic="largest number of pods reporting at once",
            window=window,
            text=f"kept at the {replicas} replica{'s' if replicas != 1 else ''} running now",
        )
    )
    reasons.append(
        Reason(
            field="confidence",
            value=confidence,
            statistic="history length and coverage",
            window=window,
            text=f"confidence {confidence:.2f}: {hours:.1f} h of history "
            f"(full confidence needs 7 days with no gaps)",
        )
    )
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=replicas,
        cpu_request_cores=cpu_req,
        cpu_limit_cores=cpu_lim,
        memory_request_bytes=math.ceil(mem_req),
        memory_limit_bytes=math.ceil(mem_lim),
        confidence=confidence,
        reasons=tuple(reasons),
    )


def dispersion(values: FloatArray) -> float:
    """(p95 − p50) / p95: 0 for flat usage, near 1 for spiky usage."""
    p95 = float(np.percentile(values, 95))
    return (p95 - float(np.percentile(values, 50))) / p95 if p95 > 0 else 0.0


def history_confidence(hours: float, windows: int, interval_s: int, pods: int) -> float:
    """0..1: grows with the square root of history length (a week is full) and coverage."""
    expected = max(hours * 3600 / 300 * max(pods, 1), 1.0)
    coverage = min(windows / expected, 1.0)
    return float(np.clip(math.sqrt(min(hours / (7 * 24), 1.0)) * coverage, 0.05, 1.0))


def format_time(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
