"""Kubernetes Vertical Pod Autoscaler recommender, as a baseline.

Re-implements ``vertical-pod-autoscaler/pkg/recommender`` (kubernetes/autoscaler) with its
default flags: samples go into exponentially bucketed, exponentially decaying histograms; a
percentile returns the *upper edge* of the bucket it falls in; the target is the p90, the lower
bound the p50 and the upper bound the p95, each plus a 15 % margin, the bounds widened by the
confidence multipliers, and everything floored at the per-pod minimums.

What is reproduced and what is not (the parts that cannot matter or cannot apply here):

- CPU samples are weighted ``max(request, minSampleWeight)``; traces carry no request, so every
  CPU sample weighs ``minSampleWeight`` (0.1).
- Memory: one peak per container (pod) per 24 h aggregation interval, stamped with the end of
  its interval. VPA's ``addMemorySample`` never raises a window's peak whose first sample read
  exactly 0 (``oldMaxMem != 0``); a running container never reads 0 bytes, so this is taken as
  an artefact and the true per-interval maximum is used instead.
- Amounts are integers like VPA's ``ResourceAmount``: CPU in millicores, memory in bytes,
  truncated on every conversion and scaling as ``resourceAmountFromFloat`` does.
- The histogram renormalisation after 100 half-lives (``maxDecayExponent``) is not reproduced;
  it rescales all weights and only matters for histories of more than 100 days.
- OOM bump-ups need OOM events, which the backtest does not feed to any recommender.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.baselines._describe import bytes_text, cores_text, describe_window
from tools.sizing.models import FloatArray, IntArray, Policy, Reason, Recommendation, UsageHistory

NAME = "vpa"

# pkg/recommender/model/aggregations_config.go, DefaultHistogramBucketSizeGrowth:
# "Make each bucket 5% larger than the previous one."
BUCKET_SIZE_GROWTH = 0.05
# aggregations_config.go, cpuHistogramOptions(): NewExponentialHistogramOptions(1000.0, 0.01, ...)
# — smallest bucket 0.01 core, last bucket start >= 1000 cores. (kubernetes/autoscaler PR 7554
# proposes 0.001; released recommenders use 0.01, which is why VPA never goes below 10m.)
CPU_FIRST_BUCKET_CORES = 0.01
CPU_MAX_CORES = 1000.0
# aggregations_config.go, memoryHistogramOptions(): NewExponentialHistogramOptions(1e12, 1e7, ...)
# — smallest bucket 10 MB, last bucket start >= 1 TB.
MEMORY_FIRST_BUCKET_BYTES = 1e7
MEMORY_MAX_BYTES = 1e12
# aggregations_config.go, minSampleWeight: "the minimal weight of any sample".
MIN_SAMPLE_WEIGHT = 0.1
# aggregations_config.go, epsilon = 0.001 * minSampleWeight: lighter buckets count as empty.
EPSILON = 0.001 * MIN_SAMPLE_WEIGHT
# aggregations_config.go, DefaultCPUHistogramDecayHalfLife and
# DefaultMemoryHistogramDecayHalfLife: 24 h.
CPU_HALF_LIFE_HOURS = 24.0
MEMORY_HALF_LIFE_HOURS = 24.0
# aggregations_config.go, DefaultMemoryAggregationInterval: one memory peak per 24 h.
MEMORY_AGGREGATION_INTERVAL_HOURS = 24.0
# model/aggregate_container_state.go: memory peaks are added with weight 1.0.
MEMORY_PEAK_WEIGHT = 1.0
# pkg/recommender/logic/recommender.go flags target-cpu-percentile, target-memory-percentile
# (0.9), recommendation-lower-bound-*-percentile (0.5), recommendation-upper-bound-*-percentile
# (0.95).
TARGET_PERCENTILE = 0.9
LOWER_BOUND_PERCENTILE = 0.5
UPPER_BOUND_PERCENTILE = 0.95
# logic/recommender.go flag recommendation-margin-fraction: 0.15.
SAFETY_MARGIN_FRACTION = 0.15
# logic/recommender.go flags pod-recommendation-min-cpu-millicores (25) and
# pod-recommendation-min-memory-mb (250, multiplied by 1024 * 1024); one container per pod here.
POD_MIN_CPU_MILLICORES = 25
POD_MIN_MEMORY_BYTES = 250 * 1024 * 1024
# logic/recommender.go: upperBound WithConfidenceMultiplier(1.0, 1.0, ...) — "(1 + 1/days)";
# lowerBound WithConfidenceMultiplier(0.001, -2.0, ...) — "(1 + 0.001/days)^-2".
UPPER_CONFIDENCE_MULTIPLIER = 1.0
UPPER_CONFIDENCE_EXPONENT = 1.0
LOWER_CONFIDENCE_MULTIPLIER = 0.001
LOWER_CONFIDENCE_EXPONENT = -2.0
# logic/estimator.go, getConfidence(): TotalSamplesCount / (60 * 24), so one sample per minute
# for N days gives N.
SAMPLES_PER_CONFIDENCE_DAY = 60 * 24
# util/decaying_histogram.go: when weights would exceed 2^100 the reference time moves forward.
MAX_DECAY_EXPONENT = 100.0


class VpaSettings(BaseModel):
    """The recommender's flags that matter for a backtest, with VPA's defaults."""

    model_config = ConfigDict(frozen=True)

    cpu_first_bucket_cores: float = Field(CPU_FIRST_BUCKET_CORES, gt=0, le=1)
    cpu_half_life_hours: float = Field(CPU_HALF_LIFE_HOURS, gt=0, le=24 * 365)
    memory_half_life_hours: float = Field(MEMORY_HALF_LIFE_HOURS, gt=0, le=24 * 365)
    memory_aggregation_hours: float = Field(MEMORY_AGGREGATION_INTERVAL_HOURS, gt=0, le=24 * 30)
    target_percentile: float = Field(TARGET_PERCENTILE, gt=0, le=1)
    lower_bound_percentile: float = Field(LOWER_BOUND_PERCENTILE, gt=0, le=1)
    upper_bound_percentile: float = Field(UPPER_BOUND_PERCENTILE, gt=0, le=1)
    safety_margin_fraction: float = Field(SAFETY_MARGIN_FRACTION, ge=0, le=10)
    pod_min_cpu_millicores: int = Field(POD_MIN_CPU_MILLICORES, ge=0, le=1_000_000)
    pod_min_memory_bytes: int = Field(POD_MIN_MEMORY_BYTES, ge=0, le=2**44)
    cpu_limit_ratio: float | None = Field(
        None, ge=1, le=100, description="original CPU limit/request; None: no CPU limit"
    )
    memory_limit_ratio: float | None = Field(
        1.0, ge=1, le=100, description="original memory limit/request; None: no memory limit"
    )


@dataclass(frozen=True)
class ExponentialBuckets:
    """``util.NewExponentialHistogramOptions``: bucket n starts at first·(r^n − 1)/(r − 1)."""

    max_value: float
    first_bucket_size: float
    ratio: float = 1.0 + BUCKET_SIZE_GROWTH
    epsilon: float = EPSILON

    @cached_property
    def num_buckets(self) -> int:
        r, first = self.ratio, self.first_bucket_size
        return math.ceil(math.log(self.max_value * (r - 1) / first + 1) / math.log(r)) + 1

    def find(self, values: FloatArray) -> IntArray:
        """Bucket index of each value (``FindBucket``), clamped to the first and last bucket."""
        r, first = self.ratio, self.first_bucket_size
        safe = np.maximum(values, first)
        index = np.floor(np.log(safe * (r - 1) / first + 1) / math.log(r)).astype(np.int64)
        index[values < first] = 0
        return np.minimum(index, self.num_buckets - 1)

    def start(self, bucket: int) -> float:
        """``GetBucketStart``."""
        if bucket == 0:
            return 0.0
        return self.first_bucket_size * (self.ratio**bucket - 1) / (self.ratio - 1)

    def percentile(self, buckets: IntArray, weights: FloatArray, percentile: float) -> float:
        """``histogram.Percentile``: upper edge of the first bucket whose running weight reaches
        ``percentile`` of the total (the start of the last bucket, which has no upper edge)."""
        return self.percentiles(buckets, weights, (percentile,))[percentile]

    def percentiles(
        self, buckets: IntArray, weights: FloatArray, wanted: tuple[float, ...]
    ) -> dict[float, float]:
        """:meth:`percentile` for each of ``wanted``, from one histogram."""
        hist = np.bincount(buckets, weights=weights, minlength=self.num_buckets)
        heavy = np.flatnonzero(hist >= self.epsilon)
        if len(heavy) == 0:
            return {p: 0.0 for p in wanted}
        lo, hi = int(heavy[0]), int(heavy[-1])
        total = float(hist.sum())
        running = np.cumsum(hist[lo:hi])
        out = {}
        for p in wanted:
            reached = np.flatnonzero(running >= p * total)
            bucket = lo + int(reached[0]) if len(reached) else hi
            out[p] = self.start(bucket + 1) if bucket < self.num_buckets - 1 else self.start(bucket)
        return out


def decay_weights(timestamps: IntArray, half_life_s: float) -> FloatArray:
    """``decayingHistogram.decayFactor``: 2^((t − reference)/half-life), where the reference is
    the first timestamp rounded to a multiple of the half-life (``shiftReferenceTimestamp``)."""
    if len(timestamps) == 0:
        return np.zeros(0)
    reference = math.floor(float(timestamps.min()) / half_life_s + 0.5) * half_life_s
    exponent = (timestamps.astype(np.float64) - reference) / half_life_s
    top = float(exponent.max())
    if top > MAX_DECAY_EXPONENT * 10:  # keep far-future weights finite; percentiles unchanged
        exponent -= top
    return np.asarray(np.exp2(exponent), dtype=np.float64)


def memory_peaks(history: UsageHistory, interval_s: float) -> tuple[FloatArray, IntArray]:
    """One peak per pod per aggregation interval and the interval's end (``addMemorySample``):
    intervals start at each pod's first sample."""
    peaks: list[FloatArray] = []
    ends: list[IntArray] = []
    for pod in history.pods:
        if len(pod) == 0:
            continue
        first = int(pod.timestamps[0])
        index = (pod.timestamps - first) // int(interval_s)
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        peaks.append(np.maximum.reduceat(pod.memory_bytes, starts))
        ends.append(first + (index[starts] + 1) * int(interval_s))
    if not peaks:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(peaks), np.concatenate(ends).astype(np.int64)


def confidence_days(history: UsageHistory) -> float:
    """``getConfidence``: min(days between first and last sample, samples / 1440)."""
    if history.samples == 0:
        return 0.0
    first = min(int(p.timestamps[0]) for p in history.pods if len(p))
    last = max(int(p.timestamps[-1]) for p in history.pods if len(p))
    return min((last - first) / 86400, history.samples / SAMPLES_PER_CONFIDENCE_DAY)


def _amount(value: float) -> int:
    """``resourceAmountFromFloat``: negative → 0, otherwise truncated to an integer."""
    if math.isnan(value) or value <= 0:
        return 0
    return int(value)


def _scale(amount: int, factor: float) -> int:
    """``ScaleResource``."""
    return _amount(amount * factor)


def _with_margin(amount: int, fraction: float) -> int:
    """``WithMargin``: base + ScaleResource(base, fraction)."""
    return amount + _scale(amount, fraction)


def _confidence_scale(amount: int, multiplier: float, exponent: float, confidence: float) -> int:
    """``WithConfidenceMultiplier``: amount · (1 + multiplier/confidence)^exponent."""
    if confidence <= 0:
        return 0 if exponent < 0 else -1  # -1: unbounded, as 1/0 = +Inf in VPA
    return _scale(amount, (1 + multiplier / confidence) ** exponent)


@dataclass(frozen=True)
class Bounds:
    """Lower bound, target and upper bound as VPA amounts (millicores or bytes)."""

    lower: int
    target: int
    upper: int | None  # None: unbounded (no history)
    raw_target: float  # the target percentile before margin and minimum, in cores or bytes


def estimate_bounds(
    percentile_of: dict[float, float],
    settings: VpaSettings,
    confidence: float,
    minimum: int,
    to_amount: float,
) -> Bounds:
    """Bounds from the histogram's percentiles (``to_amount`` converts them to VPA amounts)."""

    def amount(p: float) -> int:
        return _with_margin(_amount(percentile_of[p] * to_amount), settings.safety_margin_fraction)

    target = amount(settings.target_percentile)
    lower = _confidence_scale(
        amount(settings.lower_bound_percentile),
        LOWER_CONFIDENCE_MULTIPLIER,
        LOWER_CONFIDENCE_EXPONENT,
        confidence,
    )
    upper = _confidence_scale(
        amount(settings.upper_bound_percentile),
        UPPER_CONFIDENCE_MULTIPLIER,
        UPPER_CONFIDENCE_EXPONENT,
        confidence,
    )
    return Bounds(
        lower=max(lower, minimum),
        target=max(target, minimum),
        upper=None if upper < 0 else max(upper, minimum),
        raw_target=percentile_of[settings.target_percentile],
    )


@dataclass(frozen=True)
class VpaEstimate:
    """What the VPA recommender would publish for one container, plus how it got there."""

    cpu_millicores: Bounds
    memory_bytes: Bounds
    confidence_days: float
    memory_peaks: int


def estimate(history: UsageHistory, settings: VpaSettings | None = None) -> VpaEstimate:
    """Lower bound, target and upper bound for CPU and memory from ``history``."""
    settings = settings or VpaSettings()
    if history.samples == 0:
        raise ValueError(f"service {history.service}: VPA needs at least one sample")
    stamps = np.concatenate([p.timestamps for p in history.pods])
    cpu = history.concat("cpu")
    percentiles = (
        settings.target_percentile,
        settings.lower_bound_percentile,
        settings.upper_bound_percentile,
    )

    cpu_buckets = ExponentialBuckets(CPU_MAX_CORES, settings.cpu_first_bucket_cores)
    cpu_index = cpu_buckets.find(cpu)
    cpu_weights = MIN_SAMPLE_WEIGHT * decay_weights(stamps, settings.cpu_half_life_hours * 3600)
    cpu_p = cpu_buckets.percentiles(cpu_index, cpu_weights, percentiles)

    mem_buckets = ExponentialBuckets(MEMORY_MAX_BYTES, MEMORY_FIRST_BUCKET_BYTES)
    peaks, peak_stamps = memory_peaks(history, settings.memory_aggregation_hours * 3600)
    mem_index = mem_buckets.find(peaks)
    mem_weights = MEMORY_PEAK_WEIGHT * decay_weights(
        peak_stamps, settings.memory_half_life_hours * 3600
    )
    mem_p = mem_buckets.percentiles(mem_index, mem_weights, percentiles)

    confidence = confidence_days(history)
    return VpaEstimate(
        cpu_millicores=estimate_bounds(
            cpu_p, settings, confidence, settings.pod_min_cpu_millicores, 1000.0
        ),
        memory_bytes=estimate_bounds(
            mem_p, settings, confidence, settings.pod_min_memory_bytes, 1.0
        ),
        confidence_days=confidence,
        memory_peaks=len(peaks),
    )


def recommend(
    history: UsageHistory,
    policy: Policy,
    settings: VpaSettings | None = None,
    *,
    known: VpaEstimate | None = None,
) -> Recommendation:
    """VPA's target as request; limits keep the original limit/request ratio.

    ``policy`` is accepted for a uniform baseline signature; VPA applies its own minimums.
    ``known`` is the :func:`estimate` of this very history when the caller already has it
    (the replay's updater reads the same estimate first).
    """
    del policy
    settings = settings or VpaSettings()
    est = known if known is not None else estimate(history, settings)
    cpu_est, mem_est, confidence = est.cpu_millicores, est.memory_bytes, est.confidence_days

    cpu_request = cpu_est.target / 1000
    cpu_limit = (
        cpu_request * settings.cpu_limit_ratio if settings.cpu_limit_ratio is not None else None
    )
    mem_request = mem_est.target
    mem_limit = (
        _scale(mem_request, settings.memory_limit_ratio)
        if settings.memory_limit_ratio is not None
        else None
    )
    window = describe_window(history)
    margin = settings.safety_margin_fraction
    cpu_upper = "unbounded" if cpu_est.upper is None else f"{cpu_est.upper}m"
    mem_upper = "unbounded" if mem_est.upper is None else bytes_text(mem_est.upper)
    reasons = (
        Reason(
            field="cpu_request",
            value=cpu_request,
            statistic=f"p{settings.target_percentile * 100:g} of decaying CPU histogram "
            f"(half-life {settings.cpu_half_life_hours:g} h, bucket upper edge)",
            window=window,
            margin=margin,
            text=f"VPA target: histogram p{settings.target_percentile * 100:g} "
            f"{cores_text(cpu_est.raw_target)} + {margin:.0%}, at least "
            f"{settings.pod_min_cpu_millicores}m; lower bound {cpu_est.lower}m, "
            f"upper bound {cpu_upper}.",
        ),
        Reason(
            field="cpu_limit",
            value=cpu_limit,
            statistic="request × original limit/request ratio"
            if cpu_limit is not None
            else "none (original CPU limit/request ratio unknown)",
            window=window,
            text="VPA keeps the original limit/request ratio; with none known, no CPU limit."
            if cpu_limit is None
            else f"VPA keeps the limit/request ratio {settings.cpu_limit_ratio:g}.",
        ),
        Reason(
            field="memory_request",
            value=float(mem_request),
            statistic=f"p{settings.target_percentile * 100:g} of decaying histogram of "
            f"{settings.memory_aggregation_hours:g}-h memory peaks per pod "
            f"(half-life {settings.memory_half_life_hours:g} h, bucket upper edge)",
            window=f"{window}, {est.memory_peaks} peak{'s' if est.memory_peaks != 1 else ''}",
            margin=margin,
            text=f"VPA target: peak histogram p{settings.target_percentile * 100:g} "
            f"{bytes_text(mem_est.raw_target)} + {margin:.0%}, at least "
            f"{bytes_text(settings.pod_min_memory_bytes)}; lower bound "
            f"{bytes_text(mem_est.lower)}, upper bound {mem_upper}.",
        ),
        Reason(
            field="memory_limit",
            value=None if mem_limit is None else float(mem_limit),
            statistic="request × original limit/request ratio",
            window=window,
            text="VPA keeps the original memory limit/request ratio "
            f"({settings.memory_limit_ratio if settings.memory_limit_ratio else 'none'}).",
        ),
        Reason(
            field="confidence",
            value=confidence,
            statistic="min(days between first and last sample, samples / 1440)",
            window=window,
            text=f"VPA confidence {confidence:.2f} days widens the upper bound by "
            f"×(1 + 1/{confidence:.2f}); reported here capped at 1.",
        ),
    )
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=max(history.replicas(), 1),
        cpu_request_cores=cpu_request,
        cpu_limit_cores=cpu_limit,
        memory_request_bytes=mem_request,
        memory_limit_bytes=mem_limit,
        confidence=min(confidence, 1.0),
        reasons=reasons,
    )
