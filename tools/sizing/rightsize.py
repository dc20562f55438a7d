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
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import FloatArray, IntArray, Policy, Reason, Recommendation, UsageHistory
from tools.sizing.quantities import format_cpu, format_memory
from tools.sizing.scoring import percentile
from tools.sizing.stats import linear_trend, recency_weights, weighted_quantile, window_pair

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

    def holding_for(self, hours: float) -> RightsizeSettings:
        """These settings for a size that must hold ``hours`` (until the next check).

        The recency half-life keeps its ratio to the horizon (12 h for a day by default): a
        size that is checked again in 6 h can follow the last hours more closely than one
        that must hold a day.
        """
        half_life = None if self.half_life_h is None else self.half_life_h * hours / self.horizon_h
        return self.model_copy(update={"horizon_h": hours, "half_life_h": half_life})


def _widening(hours: float) -> float:
    """0 for a day or more of history, growing as sqrt(24/h) − 1 below it."""
    return max(math.sqrt(24.0 / max(hours, 0.25)) - 1.0, 0.0)


@dataclass(frozen=True)
class Basis:
    """What every number of one right-size is computed over."""

    now: int
    hours: float
    pods: int
    replicas: int
    windows: int
    widen: float


@dataclass(frozen=True)
class CpuRequest:
    quantile: float
    margin: float
    cores: float
    floored: bool


@dataclass(frozen=True)
class MemoryTrend:
    """Growth of hourly medians; ``growing`` only when the fit says it is real."""

    slope_per_h: float
    r2: float
    growing: bool
    projection_h: float


@dataclass(frozen=True)
class MemoryRequest:
    quantile: float
    growth: float
    margin: float
    bytes: float


@dataclass(frozen=True)
class MemoryLimit:
    largest: float
    volatility: float
    margin: float
    growth: float
    bytes: float
    request: float


@dataclass(frozen=True)
class CpuLimit:
    largest: float
    cores: float | None


def cpu_request(
    recency: FloatArray, cpu5: FloatArray, basis: Basis, policy: Policy, s: RightsizeSettings
) -> CpuRequest:
    """Recency-weighted quantile of 5-minute CPU, widened when history is short."""
    q = weighted_quantile(cpu5, recency, s.quantile)
    margin = s.request_widening * dispersion(cpu5) * basis.widen
    cores = max(q * (1 + margin), policy.min_cpu_cores)
    return CpuRequest(q, margin, cores, cores > q * (1 + margin))


def memory_trend(
    stamps: IntArray, mem5: FloatArray, basis: Basis, s: RightsizeSettings
) -> MemoryTrend:
    slope_h, r2 = linear_trend(stamps, mem5)
    growing = slope_h > 0 and r2 >= s.trend_min_r2
    return MemoryTrend(slope_h, r2, growing, min(s.horizon_h, basis.hours))


def memory_request(
    recency: FloatArray,
    mem5: FloatArray,
    trend: MemoryTrend,
    basis: Basis,
    policy: Policy,
    s: RightsizeSettings,
) -> MemoryRequest:
    """Recency-weighted quantile of 5-minute memory plus part of the projected growth."""
    q = weighted_quantile(mem5, recency, s.quantile)
    growth = (
        trend.slope_per_h * s.trend_request_share * trend.projection_h if trend.growing else 0.0
    )
    margin = s.request_widening * dispersion(mem5) * basis.widen
    value = max((q + growth) * (1 + margin), float(policy.min_memory_bytes))
    return MemoryRequest(q, growth, margin, value)


def memory_limit(
    raw: FloatArray,
    trend: MemoryTrend,
    request: MemoryRequest,
    basis: Basis,
    policy: Policy,
    s: RightsizeSettings,
) -> MemoryLimit:
    """Above every raw sample seen: a relative margin (wider for volatile use and short
    history) or an absolute headroom for transient extras, whichever is larger."""
    largest = float(raw.max())
    volatility = (largest - float(np.median(raw))) / largest if largest > 0 else 0.0
    margin = (
        s.peak_margin
        + s.peak_volatility * volatility**2
        + s.peak_widening * math.sqrt(24.0 / max(basis.hours, 0.25))
    )
    growth = trend.slope_per_h * trend.projection_h if trend.growing else 0.0
    cover = max((largest + growth) * (1 + margin), largest + growth + s.peak_headroom_bytes)
    if policy.memory_limit == "equal-request":
        req = max(request.bytes, cover)
        return MemoryLimit(largest, volatility, margin, growth, req, req)
    return MemoryLimit(
        largest, volatility, margin, growth, max(cover, request.bytes), request.bytes
    )


def cpu_limit(
    raw: FloatArray, request: CpuRequest, policy: Policy, s: RightsizeSettings
) -> CpuLimit:
    largest = float(raw.max())
    if policy.cpu_limit != "burst":
        return CpuLimit(largest, None)
    cores = max(
        largest * (1 + s.cpu_burst_margin), request.cores * s.cpu_burst_ratio, s.cpu_limit_floor
    )
    return CpuLimit(largest, cores)


def recommend(
    history: UsageHistory, policy: Policy, settings: RightsizeSettings | None = None
) -> Recommendation:
    """Per-pod size for the next ``horizon_h`` hours from the workload's own history."""
    s = settings or RightsizeSettings()
    stamps, cpu5, mem5 = window_pair(history.pods)
    if len(cpu5) < s.min_windows:
        raise InsufficientHistory(
            f"{history.service} has {len(cpu5)} five-minute windows of history; "
            f"right-sizing needs at least {s.min_windows}"
        )
    hours = (history.end - history.start) / 3600.0
    basis = Basis(
        now=history.end,
        hours=hours,
        pods=len(history.pods),
        replicas=max(history.replicas(), 1),
        windows=len(cpu5),
        widen=_widening(hours),
    )
    recency = recency_weights(stamps, basis.now, s.half_life_h)
    cpu_req = cpu_request(recency, cpu5, basis, policy, s)
    trend = memory_trend(stamps, mem5, basis, s)
    mem_req = memory_request(recency, mem5, trend, basis, policy, s)
    mem_lim = memory_limit(history.concat("memory"), trend, mem_req, basis, policy, s)
    cpu_lim = cpu_limit(history.concat("cpu"), cpu_req, policy, s)
    confidence = history_confidence(hours, basis.windows, history.interval_s, basis.pods)
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=basis.replicas,
        cpu_request_cores=cpu_req.cores,
        cpu_limit_cores=cpu_lim.cores,
        memory_request_bytes=math.ceil(mem_lim.request),
        memory_limit_bytes=math.ceil(mem_lim.bytes),
        confidence=confidence,
        reasons=reasons(basis, cpu_req, trend, mem_req, mem_lim, cpu_lim, confidence, policy, s),
    )


def reasons(
    basis: Basis,
    cpu_req: CpuRequest,
    trend: MemoryTrend,
    mem_req: MemoryRequest,
    mem_lim: MemoryLimit,
    cpu_lim: CpuLimit,
    confidence: float,
    policy: Policy,
    s: RightsizeSettings,
) -> tuple[Reason, ...]:
    """The one place that puts a right-size's numbers into words."""
    window = (
        f"{basis.hours:.1f} h to {format_time(basis.now)}, {basis.windows} five-minute windows, "
        f"{basis.pods} pod{'s' if basis.pods != 1 else ''}"
    )
    pct = f"p{s.quantile * 100:g}"
    weighting = f", recency half-life {s.half_life_h:g} h" if s.half_life_h else ""
    short = "because history is short"
    cpu_text = (
        f"{pct} of 5-minute CPU was {format_cpu(cpu_req.quantile)}"
        + (f"; +{cpu_req.margin:.0%} {short}" if cpu_req.margin else "")
        + (f"; raised to the policy minimum {format_cpu(cpu_req.cores)}" if cpu_req.floored else "")
    )
    trend_text = (
        f"; memory grows {format_memory(trend.slope_per_h)}/h (R² {trend.r2:.2f}), "
        f"+{format_memory(mem_req.growth)} projected over {trend.projection_h:.0f} h"
        if trend.growing
        else ""
    )
    mem_text = f"{pct} of 5-minute memory was {format_memory(mem_req.quantile)}{trend_text}" + (
        f"; +{mem_req.margin:.0%} {short}" if mem_req.margin else ""
    )
    if policy.memory_limit == "equal-request":
        limit_text = (
            f"policy sets the limit equal to the request, so both cover the peak "
            f"{format_memory(mem_lim.largest)} +{mem_lim.margin:.0%}"
        )
    else:
        limit_text = (
            f"largest sample was {format_memory(mem_lim.largest)}; the larger of "
            f"+{mem_lim.margin:.0%} (volatility {mem_lim.volatility:.2f}, {basis.hours:.1f} h of "
            f"history) and +{format_memory(s.peak_headroom_bytes)} for transient extras"
        ) + (f" and +{format_memory(mem_lim.growth)} projected growth" if mem_lim.growth else "")
    cpu_limit_text = (
        f"largest burst was {format_cpu(cpu_lim.largest)}; limit is the largest of burst "
        f"+{s.cpu_burst_margin:.0%}, {s.cpu_burst_ratio:g}× the request and "
        f"{format_cpu(s.cpu_limit_floor)}"
        if cpu_lim.cores is not None
        else "policy sets no CPU limit; pods may use idle CPU on the node"
    )
    r = basis.replicas
    return (
        Reason(
            field="cpu_request",
            value=cpu_req.cores,
            statistic=f"{pct} of 5-min mean CPU{weighting}",
            window=window,
            margin=cpu_req.margin,
            text=cpu_text,
        ),
        Reason(
            field="memory_request",
            value=mem_lim.request,
            statistic=f"{pct} of 5-min mean memory{weighting}"
            + (" + linear growth" if trend.growing else ""),
            window=window,
            margin=mem_req.margin,
            text=mem_text,
        ),
        Reason(
            field="memory_limit",
            value=mem_lim.bytes,
            statistic="max of raw memory samples" + (" + linear growth" if mem_lim.growth else ""),
            window=window,
            margin=mem_lim.margin,
            text=limit_text,
        ),
        Reason(
            field="cpu_limit",
            value=cpu_lim.cores,
            statistic="max of raw CPU samples" if cpu_lim.cores is not None else "policy",
            window=window,
            margin=s.cpu_burst_margin if cpu_lim.cores is not None else 0.0,
            text=cpu_limit_text,
        ),
        Reason(
            field="replicas",
            value=r,
            statistic="largest number of pods reporting at once",
            window=window,
            text=f"kept at the {r} replica{'s' if r != 1 else ''} running now",
        ),
        Reason(
            field="confidence",
            value=confidence,
            statistic="history length and coverage",
            window=window,
            text=f"confidence {confidence:.2f}: {basis.hours:.1f} h of history "
            f"(full confidence needs 7 days with no gaps)",
        ),
    )


def dispersion(values: FloatArray) -> float:
    """(p95 − p50) / p95: 0 for flat usage, near 1 for spiky usage."""
    p95 = percentile(values, 95)
    return (p95 - percentile(values, 50)) / p95 if p95 > 0 else 0.0


def history_confidence(hours: float, windows: int, interval_s: int, pods: int) -> float:
    """0..1: grows with the square root of history length (a week is full) and coverage."""
    expected = max(hours * 3600 / 300 * max(pods, 1), 1.0)
    coverage = min(windows / expected, 1.0)
    return float(np.clip(math.sqrt(min(hours / (7 * 24), 1.0)) * coverage, 0.05, 1.0))


def format_time(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
