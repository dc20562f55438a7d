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
    keys = timestamps // window_s
    # timestamps are ascending, so equal keys are contiguous
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sums = np.add.reduceat(values, starts)
    counts = np.diff(np.r_[starts, len(values)])
    return np.asarray(sums / counts, dtype=np.float64)


def pooled_window_means(pods: tuple[PodSeries, ...], memory: bool) -> FloatArray:
    parts = [window_means(p.timestamps, p.memory_bytes if memory else p.cpu_cores) for p in pods]
    return np.concatenate(parts) if parts else np.zeros(0)


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
) -> SizeMetrics:
    """All benchmark metrics for one per-pod size against the pods' samples."""
    cpu_raw = np.concatenate([p.cpu_cores for p in pods]) if pods else np.zeros(0)
    mem_raw = np.concatenate([p.memory_bytes for p in pods]) if pods else np.zeros(0)
    if len(cpu_raw) == 0:
        raise ValueError("cannot score against an empty window")
    cpu_p95 = float(np.percentile(pooled_window_means(pods, memory=False), 95))
    mem_p95 = float(np.percentile(pooled_window_means(pods, memory=True), 95))
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
