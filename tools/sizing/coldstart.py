"""Cold-start strategy: a new service's metadata and expected load + peers → a size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Policy, Reason, Recommendation, ServiceMeta
from tools.sizing.profiles import PeerProfile

NAME = "sizer-coldstart"


class ColdStartInput(BaseModel):
    """A service that has no history yet: metadata, per-pod load, optional named peers."""

    model_config = ConfigDict(frozen=True)

    meta: ServiceMeta
    rps_p50_per_pod: float | None = Field(None, ge=0)
    rps_p95_per_pod: float | None = Field(None, ge=0)
    replicas: int | None = Field(None, ge=1)
    similar: tuple[str, ...] = ()


class ColdStartSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    memory_margin: float = Field(0.2, ge=0, le=3)


def recommend(
    target: ColdStartInput,
    peers: Sequence[PeerProfile],
    policy: Policy,
    settings: ColdStartSettings | None = None,
) -> Recommendation:
    settings = settings or ColdStartSettings()
    same = [p for p in peers if p.meta.language == target.meta.language] or list(peers)
    mem = float(np.median([p.mem_max for p in same])) * (1 + settings.memory_margin)
    cpu = float(np.median([p.cpu_p95 for p in same]))
    return Recommendation(
        service=target.meta.name,
        strategy=NAME,
        replicas=target.replicas or policy.min_replicas,
        cpu_request_cores=max(cpu, policy.min_cpu_cores),
        cpu_limit_cores=None,
        memory_request_bytes=int(mem),
        memory_limit_bytes=int(mem),
        confidence=0.3,
        reasons=(
            Reason(field="memory_request", value=mem, statistic="median peer max",
                   window="peers", text="median of peers"),
        ),
    )
