"""Right-size strategy: a workload's own history → per-pod requests and limits."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Policy, Reason, Recommendation, UsageHistory
from tools.sizing.scoring import pooled_window_means

NAME = "sizer-rightsize"


class RightsizeSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_margin: float = Field(0.0, ge=0, le=1)
    memory_margin: float = Field(0.0, ge=0, le=1)
    peak_margin: float = Field(0.15, ge=0, le=2)


def recommend(
    history: UsageHistory, policy: Policy, settings: RightsizeSettings | None = None
) -> Recommendation:
    settings = settings or RightsizeSettings()
    cpu5 = pooled_window_means(history.pods, memory=False)
    mem5 = pooled_window_means(history.pods, memory=True)
    cpu_req = max(float(np.percentile(cpu5, 95)) * (1 + settings.cpu_margin), policy.min_cpu_cores)
    mem_req = max(float(np.percentile(mem5, 95)) * (1 + settings.memory_margin), 1.0)
    mem_lim = float(history.concat("memory").max()) * (1 + settings.peak_margin)
    window = f"{(history.end - history.start) / 3600:.1f} h"
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=max(history.replicas(), 1),
        cpu_request_cores=cpu_req,
        cpu_limit_cores=None,
        memory_request_bytes=int(np.ceil(mem_req)),
        memory_limit_bytes=int(np.ceil(max(mem_lim, mem_req))),
        confidence=0.5,
        reasons=(
            Reason(field="cpu_request", value=cpu_req, statistic="p95 of 5-min mean CPU",
                   window=window, text="p95 of 5-minute CPU"),
        ),
    )
