"""Peer profiles: the few aggregates of a service's history that cold-start sizing needs.

A profile is small on purpose: Prometheus can compute every field on the server
(``quantile_over_time``, ``max_over_time``) so sizing a new service does not pull raw series of
all its peers. :func:`profile_from_history` computes the same numbers from raw samples.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import ServiceMeta, UsageHistory
from tools.sizing.scoring import pooled_window_means


class PeerProfile(BaseModel):
    """Per-pod usage statistics of one existing service over ``hours`` of history.

    CPU in cores and memory in bytes are taken over 5-minute means (``*_p50``, ``*_p95``)
    or raw samples (``*_max``); rps is per pod and None where no request rate is known.
    """

    model_config = ConfigDict(frozen=True)

    meta: ServiceMeta
    pods: int = Field(ge=1)
    hours: float = Field(ge=0)
    cpu_p50: float = Field(ge=0)
    cpu_p95: float = Field(ge=0)
    cpu_max: float = Field(ge=0)
    mem_p50: float = Field(ge=0)
    mem_p95: float = Field(ge=0)
    mem_max: float = Field(ge=0)
    rps_p50: float | None = Field(None, ge=0)
    rps_p95: float | None = Field(None, ge=0)


def profile_from_history(history: UsageHistory, meta: ServiceMeta | None = None) -> PeerProfile:
    """Aggregate raw samples into a :class:`PeerProfile` (the engine's own reference)."""
    meta = meta or history.meta or ServiceMeta(name=history.service)
    cpu5 = pooled_window_means(history.pods, memory=False)
    mem5 = pooled_window_means(history.pods, memory=True)
    if len(cpu5) == 0:
        raise ValueError(f"service {history.service} has no samples to profile")
    rps = history.concat("rps")
    rps = rps[np.isfinite(rps)]
    return PeerProfile(
        meta=meta,
        pods=max(history.replicas(), 1),
        hours=(history.end - history.start) / 3600,
        cpu_p50=float(np.percentile(cpu5, 50)),
        cpu_p95=float(np.percentile(cpu5, 95)),
        cpu_max=float(history.concat("cpu").max()),
        mem_p50=float(np.percentile(mem5, 50)),
        mem_p95=float(np.percentile(mem5, 95)),
        mem_max=float(history.concat("memory").max()),
        rps_p50=float(np.percentile(rps, 50)) if len(rps) else None,
        rps_p95=float(np.percentile(rps, 95)) if len(rps) else None,
    )
