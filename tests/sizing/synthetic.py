"""Synthetic usage histories with known statistics for strategy tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tools.sizing.models import PodSeries, ServiceMeta, UsageHistory

MiB = 2**20
T0 = 1_700_000_000 - (1_700_000_000 % 3600)


def history(
    cpu: Callable[[np.ndarray], np.ndarray],
    memory: Callable[[np.ndarray], np.ndarray],
    hours: float,
    *,
    interval: int = 60,
    pods: int = 1,
    rps: Callable[[np.ndarray], np.ndarray] | None = None,
    name: str = "svc",
) -> UsageHistory:
    """One series per pod; the callables get hours since start and return values."""
    stamps = T0 + np.arange(0, int(hours * 3600), interval, dtype=np.int64)
    t_h = (stamps - T0) / 3600.0
    series = tuple(
        PodSeries(
            f"{name}-{i}",
            stamps.copy(),
            np.asarray(cpu(t_h), dtype=np.float64),
            np.asarray(memory(t_h), dtype=np.float64),
            np.asarray(rps(t_h), dtype=np.float64) if rps else np.full(len(stamps), np.nan),
        )
        for i in range(pods)
    )
    return UsageHistory(name, series, interval, ServiceMeta(name=name))


def noisy(level: float, spread: float, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    return lambda t: level + spread * rng.random(len(t))
