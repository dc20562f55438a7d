"""Cold-start baseline: copy the KRR-simple size of the most similar existing service.

What a platform engineer does by hand — "size it like that other Spring Boot service with about
the same traffic". Similarity, in order:

1. same language and framework (both known and equal), then same language only, then the rest;
2. closest per-pod request rate: |peer p50 − target p50| of rps per pod, peers or targets
   without a known rate ranked after every known distance;
3. same ``kind``;
4. service name, so the choice is deterministic when nothing else tells peers apart.

The chosen peer's whole history goes through :mod:`tools.sizing.baselines.krr_simple`; the
target's own usage is never an input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.baselines import krr_simple
from tools.sizing.coldstart import ColdStartInput
from tools.sizing.models import Policy, Recommendation, ServiceMeta, UsageHistory

NAME = "nearest-peer"


class NearestPeerSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    krr: krr_simple.KrrSimpleSettings = Field(default_factory=krr_simple.KrrSimpleSettings)


def peer_rps_p50(history: UsageHistory) -> float | None:
    """Median per-pod request rate over the peer's samples where it is known."""
    rps = history.concat("rps")
    rps = rps[np.isfinite(rps)]
    return float(np.percentile(rps, 50)) if len(rps) else None


def _meta(history: UsageHistory) -> ServiceMeta:
    return history.meta or ServiceMeta(name=history.service)


def similarity_key(target: ColdStartInput, peer: UsageHistory) -> tuple[int, float, int, str]:
    """Sort key: smaller is more similar (see the module docstring for the order)."""
    mine, theirs = target.meta, _meta(peer)
    same_language = mine.language is not None and mine.language == theirs.language
    same_framework = mine.framework is not None and mine.framework == theirs.framework
    tier = 0 if same_language and same_framework else 1 if same_language else 2
    rate = peer_rps_p50(peer)
    distance = (
        abs(rate - target.rps_p50_per_pod)
        if rate is not None and target.rps_p50_per_pod is not None
        else math.inf
    )
    return (tier, distance, int(mine.kind != theirs.kind), peer.service)


def choose_peer(target: ColdStartInput, peers: Sequence[UsageHistory]) -> UsageHistory:
    candidates = [p for p in peers if p.service != target.meta.name and p.samples]
    if not candidates:
        raise ValueError(f"no peer with usage to size {target.meta.name} like")
    return min(candidates, key=lambda p: similarity_key(target, p))


def recommend(
    target: ColdStartInput,
    peers: Sequence[UsageHistory],
    policy: Policy,
    settings: NearestPeerSettings | None = None,
) -> Recommendation:
    """KRR-simple on the nearest peer's history, relabelled for the target."""
    settings = settings or NearestPeerSettings()
    peer = choose_peer(target, peers)
    tier, distance, kind_differs, _ = similarity_key(target, peer)
    base = krr_simple.recommend(peer, policy, settings.krr)
    match = ("same language and framework", "same language", "no language match")[tier]
    rate = "unknown rps distance" if math.isinf(distance) else f"rps/pod distance {distance:.3g}"
    why = f"nearest peer {peer.service} ({match}, {rate}{', other kind' if kind_differs else ''})"
    reasons = tuple(
        r.model_copy(update={"peers": (peer.service,), "text": f"{r.text} Copied from {why}."})
        for r in base.reasons
    )
    return Recommendation(
        service=target.meta.name,
        strategy=NAME,
        replicas=target.replicas or policy.min_replicas,
        cpu_request_cores=base.cpu_request_cores,
        cpu_limit_cores=base.cpu_limit_cores,
        memory_request_bytes=base.memory_request_bytes,
        memory_limit_bytes=base.memory_limit_bytes,
        confidence=(1.0, 0.5, 0.2)[tier] * base.confidence,
        reasons=reasons,
    )
