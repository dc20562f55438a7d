"""Cold-start strategy: a new service's metadata and expected load + peers → a per-pod size.

- Memory request: the median per-pod p95 memory of the most similar peers (see
  :mod:`tools.sizing.peers`); memory rarely follows load, so it is not scaled by rps.
- Memory limit: the peers' median peak, times a split-conformal multiplier. Every peer is
  predicted the same way from the others; the multiplier is the ⌈(n+1)(1−α)⌉-th smallest of
  the ratios actual peak / predicted peak, so about 1−α of services like these stay under
  it. With fewer than 1/α − 1 peers the largest ratio is used and the confidence says so.
- CPU request: ``idle + cost × rps`` per pod, both fitted on the peers' (p95 rps, p95 CPU)
  with a Theil–Sen line (median of pairwise slopes: robust to one odd peer); the median peer
  p95 when the load or the peers' rates are unknown.
- CPU limit: by policy, none or a multiple of the request above the peers' bursts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Policy, Reason, Recommendation, ServiceMeta
from tools.sizing.peers import PeerGroup, select_peers
from tools.sizing.profiles import PeerProfile
from tools.sizing.quantities import format_cpu, format_memory

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
    """Tuning of the cold-start strategy; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    min_peers: int = Field(3, ge=1, le=50, description="peers a tier needs to be used")
    oom_risk: float = Field(
        0.05, gt=0, lt=0.5, description="α: share of similar services allowed above the limit"
    )
    cpu_burst_ratio: float = Field(4.0, ge=1, le=50, description="CPU limit / request (burst)")
    cpu_limit_floor: float = Field(0.1, ge=0, le=8, description="smallest CPU limit (burst)")
    load_neighbours: int = Field(
        8, ge=1, le=100, description="peers closest in per-pod rps used for memory"
    )


@dataclass(frozen=True)
class CpuModel:
    """Per-pod CPU p95 as idle + cost × rps, fitted on one peer group."""

    idle_cores: float
    cores_per_rps: float
    group: PeerGroup
    method: str

    def cores(self, rps: float | None) -> float:
        return self.idle_cores + self.cores_per_rps * (rps or 0.0)


@dataclass(frozen=True)
class PeakCalibration:
    multiplier: float
    peers: int
    exact: bool


def theil_sen(x: Sequence[float], y: Sequence[float]) -> tuple[float, float] | None:
    """Median of pairwise slopes (>= 0) and median intercept; None without two distinct x."""
    slopes = [
        (y[j] - y[i]) / (x[j] - x[i]) for i, j in combinations(range(len(x)), 2) if x[j] != x[i]
    ]
    if not slopes:
        return None
    slope = max(float(np.median(slopes)), 0.0)
    intercept = max(float(np.median([yi - slope * xi for xi, yi in zip(x, y, strict=True)])), 0.0)
    return slope, intercept


def fit_cpu_model(
    meta: ServiceMeta,
    similar: Sequence[str],
    peers: Sequence[PeerProfile],
    settings: ColdStartSettings | None = None,
) -> CpuModel:
    s = settings or ColdStartSettings()
    return cpu_model_of(select_peers(meta, similar, peers, s.min_peers))


def cpu_model_of(group: PeerGroup) -> CpuModel:
    """The CPU line fitted on one peer group."""
    known = [p for p in group.peers if p.rps_p95 is not None]
    busy = [p for p in known if (p.rps_p95 or 0) > 0]
    if len(busy) >= 2:
        fit = theil_sen([p.rps_p95 or 0.0 for p in known], [p.cpu_p95 for p in known])
        if fit is not None:
            slope, intercept = fit
            return CpuModel(intercept, slope, group, "Theil–Sen line of p95 CPU on p95 rps")
    if busy:
        cost = float(np.median([p.cpu_p95 / (p.rps_p95 or 1.0) for p in busy]))
        return CpuModel(0.0, cost, group, "p95 CPU per p95 request/s of the peers")
    median = float(np.median([p.cpu_p95 for p in group.peers]))
    return CpuModel(median, 0.0, group, "median p95 CPU (no request rates to fit)")


def closest_in_load(
    peers: Sequence[PeerProfile], rps: float | None, k: int
) -> tuple[PeerProfile, ...]:
    """The k peers whose per-pod p95 rps is closest to ``rps`` on a log scale (all if unknown).

    Services under more load hold more in memory (connections, buffers, caches), so among
    similar services the ones with a similar load are the better guide.
    """
    known = [p for p in peers if p.rps_p95 is not None]
    if rps is None or len(known) <= k:
        return tuple(peers)
    target = math.log1p(rps)
    ranked = sorted(known, key=lambda p: (abs(math.log1p(p.rps_p95 or 0.0) - target), p.meta.name))
    return tuple(ranked[:k])


def calibrate_peak(peers: Sequence[PeerProfile], settings: ColdStartSettings) -> PeakCalibration:
    """Split-conformal multiplier on the predicted peak, each peer predicted from the rest."""
    ratios: list[float] = []
    for peer in peers:
        others = [p for p in peers if p is not peer]
        if not others:
            continue
        group = select_peers(peer.meta, (), others, settings.min_peers)
        near = closest_in_load(group.peers, peer.rps_p95, settings.load_neighbours)
        predicted = float(np.median([p.mem_max for p in near]))
        if predicted > 0 and peer.mem_max > 0:
            ratios.append(peer.mem_max / predicted)
    if not ratios:
        return PeakCalibration(1.0, 0, False)
    ratios.sort()
    n = len(ratios)
    rank = math.ceil((n + 1) * (1 - settings.oom_risk))
    if rank <= n:
        return PeakCalibration(max(ratios[rank - 1], 1.0), n, True)
    return PeakCalibration(max(ratios[-1], 1.0), n, False)


@dataclass(frozen=True)
class MemorySize:
    """Memory request and limit of one cold start, with the peer numbers behind them."""

    typical: float
    peak: float
    request: float
    limit: float
    floor: tuple[int, str] | None

    @property
    def floored(self) -> bool:
        return self.floor is not None and self.limit == self.floor[0]


@dataclass(frozen=True)
class CpuSize:
    request: float
    limit: float | None
    burst: float | None


def cpu_size(
    model: CpuModel, rps: float | None, group: PeerGroup, policy: Policy, s: ColdStartSettings
) -> CpuSize:
    """Request from the peers' line at the expected load; a burst limit only by policy."""
    request = max(model.cores(rps), policy.min_cpu_cores)
    if policy.cpu_limit != "burst":
        return CpuSize(request, None, None)
    burst = float(np.median([p.cpu_max for p in group.peers]))
    return CpuSize(request, max(request * s.cpu_burst_ratio, burst, s.cpu_limit_floor), burst)


def memory_size(
    meta: ServiceMeta,
    group: PeerGroup,
    rps: float | None,
    calibration: PeakCalibration,
    policy: Policy,
    s: ColdStartSettings,
) -> MemorySize:
    """Request at the load neighbours' median p95; limit at their median peak × multiplier."""
    near = closest_in_load(group.peers, rps, s.load_neighbours)
    typical = float(np.median([p.mem_p95 for p in near]))
    peak = float(np.median([p.mem_max for p in near]))
    limit = max(peak * calibration.multiplier, typical, float(policy.min_memory_bytes))
    floor = runtime_floor(meta, group)
    if floor is not None and floor[0] > limit:
        limit = float(floor[0])
    request = max(typical, float(policy.min_memory_bytes))
    if policy.memory_limit == "equal-request":
        request = limit
    return MemorySize(typical, peak, request, limit, floor)


def recommend(
    target: ColdStartInput,
    peers: Sequence[PeerProfile],
    policy: Policy,
    settings: ColdStartSettings | None = None,
    calibration: PeakCalibration | None = None,
) -> Recommendation:
    """Per-pod size for a service with no history of its own."""
    s = settings or ColdStartSettings()
    peers = [p for p in peers if p.meta.name != target.meta.name]
    group = select_peers(target.meta, target.similar, peers, s.min_peers)
    model = cpu_model_of(group)
    calibration = calibration or calibrate_peak(peers, s)
    rps = target.rps_p95_per_pod
    cpu = cpu_size(model, rps, group, policy, s)
    memory = memory_size(target.meta, group, rps, calibration, policy, s)
    confidence = coldstart_confidence(group, calibration)
    return Recommendation(
        service=target.meta.name,
        strategy=NAME,
        replicas=target.replicas or policy.min_replicas,
        cpu_request_cores=cpu.request,
        cpu_limit_cores=cpu.limit,
        memory_request_bytes=math.ceil(memory.request),
        memory_limit_bytes=math.ceil(memory.limit),
        confidence=confidence,
        reasons=reasons(group, model, rps, cpu, memory, calibration, confidence, policy, s),
    )


def reasons(
    group: PeerGroup,
    model: CpuModel,
    rps: float | None,
    cpu: CpuSize,
    memory: MemorySize,
    calibration: PeakCalibration,
    confidence: float,
    policy: Policy,
    s: ColdStartSettings,
) -> tuple[Reason, ...]:
    """The one place that puts a cold start's numbers into words."""
    names = group.names
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    window = f"{len(names)} peer service{'s' if len(names) != 1 else ''}: {group.tier}"
    load_text = (
        f"{format_cpu(model.idle_cores)} idle + {model.cores_per_rps * 1000:.3g}m per "
        f"request/s × {rps:.3g} req/s per pod"
        if model.cores_per_rps > 0 and rps is not None
        else f"median peer p95 CPU {format_cpu(model.idle_cores)}"
    )
    coverage = (
        f"covers {1 - s.oom_risk:.0%} of {calibration.peers} peers predicted the same way"
        if calibration.exact
        else f"the largest ratio among only {calibration.peers} peers (too few for "
        f"{1 - s.oom_risk:.0%} coverage)"
    )
    equal = policy.memory_limit == "equal-request"
    floor_text = (
        f"; raised to {format_memory(memory.floor[0])}: {memory.floor[1]}"
        if memory.floor is not None and memory.floored
        else ""
    )
    cpu_limit_text = (
        f"the largest of {s.cpu_burst_ratio:g}× the request, the peers' median burst "
        f"{format_cpu(cpu.burst)} and {format_cpu(s.cpu_limit_floor)}"
        if cpu.burst is not None
        else "policy sets no CPU limit; pods may use idle CPU on the node"
    )
    return (
        Reason(
            field="cpu_request",
            value=cpu.request,
            statistic=model.method,
            window=window,
            peers=names,
            text=f"{load_text}, from {shown}",
        ),
        Reason(
            field="memory_request",
            value=memory.request,
            statistic="median of peers' p95 of 5-min memory"
            + (
                " (raised to the limit: policy equal-request)"
                if memory.request == memory.limit
                else ""
            ),
            window=window,
            peers=names,
            text=f"similar services use {format_memory(memory.typical)} at p95 ({shown})"
            + ("; policy sets request = limit" if equal else ""),
        ),
        Reason(
            field="memory_limit",
            value=memory.limit,
            statistic="median of peers' peak memory × split-conformal multiplier",
            window=window,
            margin=calibration.multiplier - 1,
            peers=names,
            text=f"peers peak at {format_memory(memory.peak)}; "
            f"×{calibration.multiplier:.2f} {coverage}{floor_text}",
        ),
        Reason(
            field="cpu_limit",
            value=cpu.limit,
            statistic="peers' median max CPU" if cpu.limit is not None else "policy",
            window=window,
            peers=names if cpu.limit is not None else (),
            text=cpu_limit_text,
        ),
        Reason(
            field="confidence",
            value=confidence,
            statistic="peer similarity and count",
            window=window,
            text=f"confidence {confidence:.2f}: sized from {group.tier}, no history of its own",
        ),
    )


# Memory a runtime needs whatever the workload, used only when the catalog holds no service
# of that language (peers of another runtime say nothing about it). JVM: the Paketo / Cloud
# Foundry Java memory calculator reserves, besides the heap, 240 MiB of code cache
# (-XX:ReservedCodeCacheSize default with tiered compilation), 10 MiB of direct memory and
# 250 threads × 1 MiB of stack, about 500 MiB in all.
RUNTIME_LIMIT_FLOORS: dict[str, tuple[int, str]] = {
    "java": (
        512 * 2**20,
        "no other JVM service to learn from, and a JVM reserves about 500 MiB besides its "
        "heap (code cache 240 MiB, 250 thread stacks of 1 MiB, direct memory; Paketo Java "
        "memory calculator defaults)",
    ),
}


def runtime_floor(meta: ServiceMeta, group: PeerGroup) -> tuple[int, str] | None:
    """The runtime's limit floor when the peers chosen are not of the service's language."""
    if meta.language is None or meta.language not in RUNTIME_LIMIT_FLOORS:
        return None
    if any(p.meta.language == meta.language for p in group.peers):
        return None
    return RUNTIME_LIMIT_FLOORS[meta.language]


_TIER_CONFIDENCE = {
    "named": 0.6,
    "same language and framework": 0.5,
    "same language": 0.4,
    "same kind": 0.25,
    "all services": 0.15,
}


def coldstart_confidence(group: PeerGroup, calibration: PeakCalibration) -> float:
    """Lower than any right-size: no own history. More peers and exact coverage raise it."""
    base = next((v for k, v in _TIER_CONFIDENCE.items() if group.tier.startswith(k)), 0.15)
    count = min(len(group.peers) / 10, 1.0)
    return round(base * (0.6 + 0.4 * count) * (1.0 if calibration.exact else 0.8), 3)
