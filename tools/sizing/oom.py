"""OOM raise: after a kill, a memory limit that would have held, with the kill as its reason.

The raise follows the Kubernetes VPA recommender's reaction to an OOM kill (``OOMBumpUpRatio``
1.2 and ``OOMMinBumpUp`` 100 MiB): the new limit is the larger of 1.2 × the memory at the
kill and the memory at the kill + 100 MiB, and never below the limit in force. The request
follows only when the limit would fall below it. Everything else is kept as it was.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Reason, Recommendation
from tools.sizing.quantities import format_memory

NAME = "sizer-oom-raise"


class OomRaiseSettings(BaseModel):
    """How far a limit is raised after a kill; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    ratio: float = Field(1.2, ge=1, le=10, description="new limit ≥ this × memory at the kill")
    min_bump_bytes: int = Field(
        100 * 2**20, ge=0, le=2**36, description="new limit ≥ memory at the kill + this"
    )


def raise_after_oom(
    current: Recommendation,
    kill_bytes: float,
    when: str,
    settings: OomRaiseSettings | None = None,
) -> Recommendation:
    """``current`` with a memory limit that covers ``kill_bytes`` seen at ``when``."""
    s = settings or OomRaiseSettings()
    if kill_bytes < 0:
        raise ValueError(f"memory at the kill must be >= 0, got {kill_bytes:g}")
    old = current.memory_limit_bytes
    limit = math.ceil(max(kill_bytes * s.ratio, kill_bytes + s.min_bump_bytes, float(old or 0)))
    request = min(current.memory_request_bytes, limit)
    was = f"the {format_memory(old)} limit" if old is not None else "no limit"
    reason = Reason(
        field="memory_limit",
        value=float(limit),
        statistic=f"max({s.ratio:g} × memory at the OOM kill, + {format_memory(s.min_bump_bytes)})",
        window=f"OOM kill at {when}",
        margin=s.ratio - 1,
        text=f"OOM killed at {when} using {format_memory(kill_bytes)} against {was}; "
        f"limit raised to {format_memory(limit)} (the larger of ×{s.ratio:g} and "
        f"+{format_memory(s.min_bump_bytes)})",
    )
    kept = tuple(r for r in current.reasons if r.field != "memory_limit")
    return current.model_copy(
        update={
            "strategy": NAME,
            "memory_limit_bytes": limit,
            "memory_request_bytes": request,
            "reasons": (*kept, reason),
        }
    )
