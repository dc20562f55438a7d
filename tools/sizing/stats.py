"""Small statistics the strategies share: weighted quantiles, recency weights, robust trend."""

from __future__ import annotations

import math

import numpy as np

from tools.sizing.models import FloatArray, IntArray, PodSeries
from tools.sizing.scoring import WINDOW_S, window_starts


def window_series(pods: tuple[PodSeries, ...], memory: bool) -> tuple[IntArray, FloatArray]:
    """5-minute means of all pods with the start time of each window (pods pooled)."""
    stamps, cpu, mem = window_pair(pods)
    return stamps, mem if memory else cpu


def window_pair(pods: tuple[PodSeries, ...]) -> tuple[IntArray, FloatArray, FloatArray]:
    """:func:`window_series` of CPU and of memory at once (the windows are the same).

    A pod's timestamps ascend, so each window's samples are one run (as in
    :func:`~tools.sizing.scoring.window_means`) and its key is the run's first.
    """
    stamps: list[IntArray] = []
    cpu: list[FloatArray] = []
    memory: list[FloatArray] = []
    for pod in pods:
        if not len(pod):
            continue
        keys = pod.timestamps // WINDOW_S
        starts = window_starts(keys)
        counts = np.diff(np.append(starts, len(keys)))
        cpu.append(np.add.reduceat(pod.cpu_cores, starts) / counts)
        memory.append(np.add.reduceat(pod.memory_bytes, starts) / counts)
        stamps.append(keys[starts] * WINDOW_S)
    if not stamps:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(stamps), np.concatenate(cpu), np.concatenate(memory)


def _ascending(keys: IntArray) -> bool:
    return bool((keys[1:] >= keys[:-1]).all())


def recency_weights(stamps: IntArray, now: int, half_life_h: float | None) -> FloatArray:
    """Exponential decay by age; equal weights when no half-life is given."""
    if half_life_h is None:
        return np.ones(len(stamps))
    age_h = np.maximum(now - stamps, 0) / 3600.0
    return np.asarray(0.5 ** (age_h / half_life_h), dtype=np.float64)


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """Quantile of a weighted sample (midpoint rule); equals np.percentile's for equal weights
    up to interpolation at the ends."""
    if len(values) == 0:
        raise ValueError("quantile of an empty sample")
    order = np.argsort(values, kind="stable")
    v = values[order]
    w = weights[order]
    total = float(w.sum())
    if total <= 0:
        return float(np.quantile(values, q))
    cum = (np.cumsum(w) - 0.5 * w) / total
    return float(np.interp(q, cum, v))


def group_medians(values: FloatArray, groups: IntArray, count: int) -> FloatArray:
    """Median of ``values`` per group 0..count-1 (each non-empty), as ``np.median`` gives it:
    the middle value, or the mean of the two middle values."""
    sizes = np.bincount(groups, minlength=count)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    width = int(sizes.max())
    if _ascending(groups) and count * width <= 4 * len(values):
        # Groups in runs (one pod's hours): sort each run in a row of its own, stable and NaN
        # last as lexsort sorts it, padded with NaN after its own values.
        table = np.full((count, width), np.nan)
        table[groups, np.arange(len(values)) - starts[groups]] = values
        table.sort(axis=1, kind="stable")
        rows = np.arange(count)
        upper, lower = table[rows, sizes // 2], table[rows, (sizes - 1) // 2]
    else:
        ordered = values[np.lexsort((values, groups))]
        upper, lower = ordered[starts + sizes // 2], ordered[starts + (sizes - 1) // 2]
    return np.asarray(np.where(sizes % 2 == 1, upper, (lower + upper) / 2), dtype=np.float64)


def linear_trend(stamps: IntArray, values: FloatArray, bucket_s: int = 3600) -> tuple[float, float]:
    """Slope (units per hour) of hourly medians and its R²; (0, 0) when it cannot be told.

    Hourly medians make the fit robust to spikes and to how many pods report at once.
    """
    if len(values) < 3:
        return 0.0, 0.0
    keys = stamps // bucket_s
    if _ascending(keys):  # one pod's: np.unique's answer without sorting
        starts = window_starts(keys)
        inverse = np.zeros(len(keys), dtype=np.int64)
        inverse[starts[1:]] = 1
        uniq, inverse = keys[starts], np.cumsum(inverse)
    else:
        uniq, inverse = np.unique(keys, return_inverse=True)
    if len(uniq) < 4:
        return 0.0, 0.0
    medians = group_medians(values, inverse, len(uniq))
    hours = (uniq - uniq[0]).astype(np.float64) * bucket_s / 3600.0
    slope, intercept = np.polyfit(hours, medians, 1)
    fitted = slope * hours + intercept
    total = float(np.sum((medians - medians.mean()) ** 2))
    r2 = 1.0 - float(np.sum((medians - fitted) ** 2)) / total if total > 0 else 0.0
    if not math.isfinite(slope) or not math.isfinite(r2):
        return 0.0, 0.0
    return float(slope), max(r2, 0.0)
