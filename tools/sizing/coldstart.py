"""Cold-start strategy: a new service's metadata and expected load + peers → a per-pod size.

- Memory request: the median per-pod p95 memory of the most similar peers (see
  :mod:`tools.sizing.peers`); memory rarely follows load, so it is not scaled by rps.
- Memory limit: the peers' median peak, times a split-conformal multiplier. Every peer is
  predicted the same way from the others; the multiplier is the ⌈(n+1)(1−α)⌉-th smallest of
  the ratios actual peak / predicted peak, so about 1−α of services like these stay under
  it (α = 1 %: launch aims at 99 % OOM-free). Ratios are kept apart for services that have a
  look-alike peer (same language, framework and kind) and services that have none: the
  latter are predicted across a kind boundary and err far more, so they get their own,
  wider multiplier instead of widening everyone's. With fewer than 1/α − 1 ratios a
  log-normal tail fitted to them replaces the rank (bounded; never below the largest ratio)
  and the confidence says so.
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
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.correction import NO_CORRECTION, Correction
from tools.sizing.models import Policy, Reason, Recommendation, ServiceMeta
from tools.sizing.peers import NAMED_TIER, PeerGroup, select_peers
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
    namespace: str | None = None


class ColdStartSettings(BaseModel):
    """Tuning of the cold-start strategy; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    min_peers: int = Field(3, ge=1, le=50, description="peers a tier needs to be used")
    oom_risk: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="α: share of similar services allowed above the limit (launch aims at "
        "99 % OOM-free)",
    )
    max_tail_multiplier: float = Field(
        4.0,
        ge=1,
        le=20,
        description="largest extrapolated peak multiplier when too few ratios for the exact "
        "rank: beyond it the peers say little and the first check sizes the service",
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
class Coverage:
    """The multiplier on the predicted peak for one class of services, and how it was found.

    ``method``: ``rank`` (the exact split-conformal rank), ``log-normal tail`` (too few ratios
    for the rank: a log-normal fit of them, never below the largest), or ``none``.
    """

    multiplier: float
    peers: int
    method: Literal["rank", "log-normal tail", "none"]
    capped: bool = False
    smallest: float = 1.0
    largest: float = 1.0

    @property
    def exact(self) -> bool:
        return self.method == "rank"


@dataclass(frozen=True)
class PeakCalibration:
    """Conformal multipliers per class: services with a look-alike peer, and those without.

    A service whose peers include one of its own language, framework and kind is predicted
    well by them; one with no look-alike (the only gateway, the only worker, the only JVM) is
    predicted from services of another kind, and its error is of another size. Pooling both
    lets the few odd ones set everyone's margin while, held out themselves, they find no
    evidence of their own kind, so each class is calibrated on its own (Mondrian conformal
    prediction, Vovk et al. 2005).
    """

    alike: Coverage
    unlike: Coverage

    def of(self, has_lookalike: bool) -> Coverage:
        return self.alike if has_lookalike else self.unlike

    @property
    def multiplier(self) -> float:
        return self.alike.multiplier

    @property
    def peers(self) -> int:
        return self.alike.peers

    @property
    def exact(self) -> bool:
        return self.alike.exact


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


def has_lookalike(meta: ServiceMeta, group: PeerGroup) -> bool:
    """Whether a peer shares the service's language, framework and kind; services the
    requester named as similar count as look-alikes (the person knows the service)."""
    return group.tier == NAMED_TIER or any(
        (p.meta.language, p.meta.framework, p.meta.kind)
        == (meta.language, meta.framework, meta.kind)
        for p in group.peers
    )


def coverage(ratios: Sequence[float], settings: ColdStartSettings) -> Coverage:
    """The ⌈(n+1)(1−α)⌉-th smallest ratio, or a log-normal tail when n is too small for it.

    The largest of n ratios covers only n/(n+1) of new services; below 1/α − 1 ratios the
    1−α quantile of a log-normal fitted to them extrapolates the tail instead, bounded by
    ``max_tail_multiplier`` and never below the largest ratio seen.
    """
    if not ratios:
        return Coverage(1.0, 0, "none")
    ordered = sorted(ratios)
    n = len(ordered)
    low, high = ordered[0], ordered[-1]
    rank = math.ceil((n + 1) * (1 - settings.oom_risk))
    if rank <= n:
        return Coverage(max(ordered[rank - 1], 1.0), n, "rank", False, low, high)
    tail = high
    if n >= 2:
        logs = np.log(ordered)
        z = NormalDist().inv_cdf(1 - settings.oom_risk)
        tail = math.exp(float(logs.mean()) + z * float(logs.std(ddof=1)))
    capped = tail > settings.max_tail_multiplier
    multiplier = max(min(tail, settings.max_tail_multiplier), high, 1.0)
    return Coverage(multiplier, n, "log-normal tail", capped and multiplier > high, low, high)


def calibrate_peak(peers: Sequence[PeerProfile], settings: ColdStartSettings) -> PeakCalibration:
    """Split-conformal multipliers on the predicted peak, each peer predicted from the rest.

    Ratios actual / predicted peak are split by whether the peer had a look-alike among the
    others; a class with fewer than two ratios borrows all of them.
    """
    alike: list[float] = []
    unlike: list[float] = []
    for peer in peers:
        others = [p for p in peers if p is not peer]
        if not others:
            continue
        group = select_peers(peer.meta, (), others, settings.min_peers)
        near = closest_in_load(group.peers, peer.rps_p95, settings.load_neighbours)
        predicted = float(np.median([p.mem_max for p in near]))
        if predicted > 0 and peer.mem_max > 0:
            (alike if has_lookalike(peer.meta, group) else unlike).append(peer.mem_max / predicted)
    everyone = alike + unlike
    return PeakCalibration(
        alike=coverage(alike if len(alike) >= 2 else everyone, settings),
        unlike=coverage(unlike if len(unlike) >= 2 else everyone, settings),
    )


@dataclass(frozen=True)
class MemorySize:
    """Memory request and limit of one cold start, with the peer numbers behind them."""

    typical: float
    peak: float
    request: float
    limit: float
    floor: tuple[int, str] | None
    cover: Coverage
    alike: bool

    @property
    def floored(self) -> bool:
        return self.floor is not None and self.limit == self.floor[0]


@dataclass(frozen=True)
class CpuSize:
    request: float
    limit: float | None
    burst: float | None


@dataclass(frozen=True)
class PeerEvidence:
    """What the peers predict for a target before any correction: cold start's inputs."""

    group: PeerGroup
    model: CpuModel
    rps: float | None
    cpu_cores: float
    memory_p95: float
    memory_peak: float


def peer_evidence(
    target: ColdStartInput, peers: Sequence[PeerProfile], s: ColdStartSettings
) -> PeerEvidence:
    """The peer group, its CPU line at the expected load and the load neighbours' memory."""
    group = select_peers(target.meta, target.similar, peers, s.min_peers)
    model = cpu_model_of(group)
    rps = target.rps_p95_per_pod
    near = closest_in_load(group.peers, rps, s.load_neighbours)
    return PeerEvidence(
        group=group,
        model=model,
        rps=rps,
        cpu_cores=model.cores(rps),
        memory_p95=float(np.median([p.mem_p95 for p in near])),
        memory_peak=float(np.median([p.mem_max for p in near])),
    )


def cpu_size(
    evidence: PeerEvidence, correction: Correction, policy: Policy, s: ColdStartSettings
) -> CpuSize:
    """Request from the peers' line at the expected load; a burst limit only by policy."""
    request = max(evidence.cpu_cores * correction.cpu, policy.min_cpu_cores)
    if policy.cpu_limit != "burst":
        return CpuSize(request, None, None)
    burst = float(np.median([p.cpu_max for p in evidence.group.peers]))
    return CpuSize(request, max(request * s.cpu_burst_ratio, burst, s.cpu_limit_floor), burst)


def memory_size(
    meta: ServiceMeta,
    evidence: PeerEvidence,
    correction: Correction,
    calibration: PeakCalibration,
    policy: Policy,
) -> MemorySize:
    """Request at the load neighbours' median p95; limit at their median peak × the multiplier
    of the service's class (with or without a look-alike peer); both corrected by outcomes."""
    group = evidence.group
    alike = has_lookalike(meta, group)
    cover = calibration.of(alike)
    typical = evidence.memory_p95 * correction.memory
    peak = evidence.memory_peak * correction.peak
    limit = max(peak * cover.multiplier, typical, float(policy.min_memory_bytes))
    floor = runtime_floor(meta, group)
    if floor is not None and floor[0] > limit:
        limit = float(floor[0])
    request = max(typical, float(policy.min_memory_bytes))
    if policy.memory_limit == "equal-request":
        request = limit
    return MemorySize(typical, peak, request, limit, floor, cover, alike)


def recommend(
    target: ColdStartInput,
    peers: Sequence[PeerProfile],
    policy: Policy,
    settings: ColdStartSettings | None = None,
    calibration: PeakCalibration | None = None,
    correction: Correction = NO_CORRECTION,
) -> Recommendation:
    """Per-pod size for a service with no history of its own; ``correction`` is what past
    outcomes of similar services teach (see :mod:`tools.sizing.outcomes`)."""
    s = settings or ColdStartSettings()
    peers = [p for p in peers if p.meta.name != target.meta.name]
    evidence = peer_evidence(target, peers, s)
    calibration = calibration or calibrate_peak(peers, s)
    cpu = cpu_size(evidence, correction, policy, s)
    memory = memory_size(target.meta, evidence, correction, calibration, policy)
    confidence = coldstart_confidence(evidence.group, memory.cover)
    return Recommendation(
        service=target.meta.name,
        strategy=NAME,
        replicas=target.replicas or policy.min_replicas,
        cpu_request_cores=cpu.request,
        cpu_limit_cores=cpu.limit,
        memory_request_bytes=math.ceil(memory.request),
        memory_limit_bytes=math.ceil(memory.limit),
        confidence=confidence,
        reasons=reasons(target.meta, evidence, correction, cpu, memory, confidence, policy, s),
    )


def reasons(
    meta: ServiceMeta,
    evidence: PeerEvidence,
    correction: Correction,
    cpu: CpuSize,
    memory: MemorySize,
    confidence: float,
    policy: Policy,
    s: ColdStartSettings,
) -> tuple[Reason, ...]:
    """The one place that puts a cold start's numbers into words."""
    group, model, rps = evidence.group, evidence.model, evidence.rps
    cpu_notes = "".join(f"; {note}" for note in correction.cpu_notes)
    memory_notes = "".join(f"; {note}" for note in correction.memory_notes)
    names = group.names
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    window = f"{len(names)} peer service{'s' if len(names) != 1 else ''}: {group.tier}"
    idle = format_cpu(model.idle_cores)
    load_text = (
        f"{'0m' if idle == '0' else idle} idle + {model.cores_per_rps * 1000:.3g}m per "
        f"request/s × {rps:.3g} req/s per pod"
        if model.cores_per_rps > 0 and rps is not None
        else f"median peer p95 CPU {format_cpu(model.idle_cores)}"
    )
    coverage = coverage_text(meta, memory, s)
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
            text=f"{load_text}, from {shown}{cpu_notes}",
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
            + memory_notes
            + ("; policy sets request = limit" if equal else ""),
        ),
        Reason(
            field="memory_limit",
            value=memory.limit,
            statistic="median of peers' peak memory × split-conformal multiplier",
            window=window,
            margin=memory.cover.multiplier - 1,
            peers=names,
            text=f"peers peak at {format_memory(memory.peak)}; "
            f"×{memory.cover.multiplier:.2f}: {coverage}{floor_text}",
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


def coverage_text(meta: ServiceMeta, memory: MemorySize, s: ColdStartSettings) -> str:
    """How the limit multiplier was found, in words, for the service's class."""
    cover = memory.cover
    target = f"{1 - s.oom_risk:.0%}"
    who = "peers with a look-alike" if memory.alike else "services unlike their peers"
    if cover.method == "rank":
        how = f"covers {target} of {cover.peers} {who} predicted the same way"
    elif cover.method == "log-normal tail":
        cap = f", capped at ×{s.max_tail_multiplier:g}" if cover.capped else ""
        how = (
            f"the {target} point of a log-normal fit to {cover.peers} {who}, at least the "
            f"largest ratio (too few for exact {target} coverage{cap})"
        )
    else:
        how = "no peer ratio to calibrate on"
    if memory.alike:
        return how
    kind = "/".join(v or "unknown" for v in (meta.language, meta.framework, meta.kind))
    return (
        f"no peer shares its language, framework and kind ({kind}); services like that here "
        f"peaked at {cover.smallest:.2g}–{cover.largest:.2g}× what their peers predicted; " + how
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


def coldstart_confidence(group: PeerGroup, cover: Coverage) -> float:
    """Lower than any right-size: no own history. More peers and exact coverage raise it."""
    base = next((v for k, v in _TIER_CONFIDENCE.items() if group.tier.startswith(k)), 0.15)
    count = min(len(group.peers) / 10, 1.0)
    return round(base * (0.6 + 0.4 * count) * (1.0 if cover.exact else 0.8), 3)
