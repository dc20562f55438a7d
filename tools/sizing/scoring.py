"""Scoring a size against real usage: the metrics of the sizing benchmark.

Definitions (per service, over a scoring window, requests and limits per pod):

- usage is first averaged into 5-minute windows per pod, aligned to multiples of 300 s;
- ``cpu_slack``      = (cpu_request − p95 of 5-min CPU) / cpu_request
- ``mem_slack``      = (mem_request − p95 of 5-min memory) / mem_request
- ``mem_peak_slack`` = (mem_limit − max raw memory sample) / mem_limit
- ``oom_events``     = per pod, times a raw memory sample rises above mem_limit (crossings)
- ``cpu_saturated_share``    = share of raw samples with CPU >= 0.9 × cpu_limit (0 without one)
- ``cpu_over_request_share`` = share of raw samples with CPU > cpu_request

Percentiles use linear interpolation between order statistics (numpy's default), so anyone
can recompute them from the trace and the recommendation. The same functions score backtests
and the bot's 24 h verification.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from tools.sizing.models import FloatArray, IntArray, PodSeries

WINDOW_S = 300
SATURATION_FRACTION = 0.9


class SizeMetrics(BaseModel):
    cpu_slack: float | None
    mem_slack: float | None
    mem_peak_slack: float | None
    oom_events: int
    cpu_saturated_share: float
    cpu_over_request_share: float


def window_means(timestamps: IntArray, values: FloatArray, window_s: int = WINDOW_S) -> FloatArray:
    """Mean of the samples in each aligned window that holds at least one sample."""
    if len(timestamps) == 0:
        return np.zeros(0)
    starts = window_starts(timestamps // window_s)
    sums = np.add.reduceat(values, starts)
    counts = np.diff(np.append(starts, len(values)))
    return np.asarray(sums / counts, dtype=np.float64)


def window_starts(keys: IntArray) -> IntArray:
    """Where each run of equal window keys begins (timestamps are ascending, so the samples
    of one window are contiguous)."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))


def pooled_window_means(pods: tuple[PodSeries, ...], memory: bool) -> FloatArray:
    parts = [window_means(p.timestamps, p.memory_bytes if memory else p.cpu_cores) for p in pods]
    return np.concatenate(parts) if parts else np.zeros(0)


def percentile(values: FloatArray, q: float) -> float:
    """``float(np.percentile(values, q))``: linear interpolation between the two order
    statistics around rank q/100 × (n − 1), computed as numpy computes it (numpy's own
    machinery costs a hundred times the partition it needs on a few thousand values)."""
    n = len(values)
    if n == 0 or not np.isfinite(values).all():
        return float(np.percentile(values, q))
    rank = (n - 1) * (q / 100)
    if rank >= n - 1:
        return float(values.max())
    below = math.floor(rank)
    share = rank - below
    a, b = np.partition(values, (below, below + 1))[[below, below + 1]]
    step = b - a
    return float(b - step * (1 - share) if share >= 0.5 else a + step * share)


def relative_slack(provisioned: float | None, used: float) -> float | None:
    """(provisioned − used) / provisioned; None when nothing (or zero) is provisioned."""
    if provisioned is None or provisioned <= 0:
        return None
    return (provisioned - used) / provisioned


def count_crossings(values: FloatArray, limit: float) -> int:
    """Number of times the series goes from at-or-below ``limit`` to above it."""
    above = values > limit
    if not above.any():
        return 0
    return int(above[0]) + int(np.count_nonzero(above[1:] & ~above[:-1]))


def score(
    pods: tuple[PodSeries, ...],
    cpu_request: float,
    cpu_limit: float | None,
    mem_request: float,
    mem_limit: float | None,
    *,
    p95: tuple[float, float] | None = None,
) -> SizeMetrics:
    """All benchmark metrics for one per-pod size against the pods' samples.

    ``p95`` is the p95 of the pods' 5-minute CPU and memory when the caller already has it
    (scoring many sizes against the same samples).
    """
    cpu_raw = np.concatenate([p.cpu_cores for p in pods]) if pods else np.zeros(0)
    mem_raw = np.concatenate([p.memory_bytes for p in pods]) if pods else np.zeros(0)
    if len(cpu_raw) == 0:
        raise ValueError("cannot score against an empty window")
    if p95 is None:
        p95 = (
            percentile(pooled_window_means(pods, memory=False), 95),
            percentile(pooled_window_means(pods, memory=True), 95),
        )
    cpu_p95, mem_p95 = p95
    mem_max = float(mem_raw.max())
    oom = (
        sum(count_crossings(p.memory_bytes, mem_limit) for p in pods)
        if mem_limit is not None
        else 0
    )
    saturated = (
        float(np.count_nonzero(cpu_raw >= SATURATION_FRACTION * cpu_limit)) / len(cpu_raw)
        if cpu_limit is not None
        else 0.0
    )
    return SizeMetrics(
        cpu_slack=relative_slack(cpu_request, cpu_p95),
        mem_slack=relative_slack(mem_request, mem_p95),
        mem_peak_slack=relative_slack(mem_limit, mem_max),
        oom_events=oom,
        cpu_saturated_share=saturated,
        cpu_over_request_share=float(np.count_nonzero(cpu_raw > cpu_request)) / len(cpu_raw),
    )
