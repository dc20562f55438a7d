"""Learning from outcomes: what cold start predicted against what the workload really used.

An :class:`Outcome` records, for one launched service, the peers' prediction (before any
correction), the peers and inputs it came from, the size proposed, and the usage verified
afterwards. :func:`calibrate` turns outcomes into per-runtime (language/framework) and
per-namespace factors on the peers' prediction:

- the ratio used / predicted is taken per outcome for CPU (p95 at the load), p95 memory and
  peak memory, on a log scale so 2× and 0.5× weigh the same;
- a group's factor is exp(n · mean(log r) / (n + k)): the mean log ratio shrunk toward 1×
  as if ``k`` outcomes at exactly 1× were added. This is the posterior mean under a normal
  prior on the log factor: k = σ² / τ², σ² the spread of single outcomes around their
  group's factor (estimated from the outcomes), τ the spread of true factors between groups
  (``factor_spread``), never below ``prior_outcomes``. Noisy metrics (CPU of a cold start)
  need many outcomes to move; consistent ones move quickly. Each ratio is first bounded to
  ×/÷ ``max_factor`` so one broken measurement cannot dominate, and so is the factor;
- a factor is kept only if it improves sizes it was not learnt from: each outcome's proposed
  size, corrected by the factor learnt from the others in its group, must on the median come
  closer to what was used than uncorrected (so one outcome never makes a factor);
- the namespace factor is learnt on what the runtime factor leaves over, so the two
  multiply without counting the same error twice.

A peak correction only ever raises the limit (its coverage was calibrated on uncorrected
peaks). Cold start applies the product and says so in its reasons ("python/flask services here used
1.6× the memory their peers predicted (5 outcomes); corrected").
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.coldstart import PeerEvidence
from tools.sizing.correction import Correction
from tools.sizing.models import Dns1123Label, Recommendation, ServiceMeta
from tools.sizing.profiles import PeerProfile

__all__ = [
    "CalibrationSettings",
    "Factor",
    "ObservedUsage",
    "Outcome",
    "OutcomeCalibration",
    "PeerPrediction",
    "ProposedSize",
    "calibrate",
    "outcome_of",
]

# Ratios beyond these say the measurement is broken (a service that never ran), not the model.
_RATIO_BOUNDS = (1e-3, 1e3)


class PeerPrediction(BaseModel):
    """What the peers predicted, per pod, before any correction."""

    model_config = ConfigDict(frozen=True)

    cpu_cores: float = Field(ge=0, description="peers' CPU line at the expected load")
    memory_p95_bytes: float = Field(ge=0)
    memory_peak_bytes: float = Field(ge=0)
    tier: str
    peers: tuple[str, ...]


class ProposedSize(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_request_cores: float = Field(ge=0)
    cpu_limit_cores: float | None = Field(None, ge=0)
    memory_request_bytes: int = Field(ge=0)
    memory_limit_bytes: int | None = Field(None, ge=0)


class ObservedUsage(BaseModel):
    """What the workload really used, per pod, over the verified window."""

    model_config = ConfigDict(frozen=True)

    cpu_p95_cores: float = Field(ge=0)
    memory_p95_bytes: float = Field(ge=0)
    memory_max_bytes: float = Field(ge=0)
    hours: float = Field(ge=0)
    oom_events: int = Field(0, ge=0)


class Outcome(BaseModel):
    """One launched service: the prediction, its evidence and inputs, and what happened."""

    model_config = ConfigDict(frozen=True)

    service: Dns1123Label
    namespace: str | None = None
    meta: ServiceMeta
    rps_p50_per_pod: float | None = Field(None, ge=0)
    rps_p95_per_pod: float | None = Field(None, ge=0)
    launched_at: int | None = Field(None, description="Unix seconds")
    predicted: PeerPrediction
    proposed: ProposedSize
    observed: ObservedUsage


def outcome_of(
    evidence: PeerEvidence,
    proposed: Recommendation,
    observed: PeerProfile | ObservedUsage,
    *,
    namespace: str | None = None,
    rps_p50_per_pod: float | None = None,
    launched_at: int | None = None,
) -> Outcome:
    """An outcome from cold start's evidence, its proposal and the verified usage."""
    used = (
        observed
        if isinstance(observed, ObservedUsage)
        else ObservedUsage(
            cpu_p95_cores=observed.cpu_p95,
            memory_p95_bytes=observed.mem_p95,
            memory_max_bytes=observed.mem_max,
            hours=observed.hours,
        )
    )
    meta = observed.meta if isinstance(observed, PeerProfile) else None
    return Outcome(
        service=proposed.service,
        namespace=namespace,
        meta=meta or ServiceMeta(name=proposed.service),
        rps_p50_per_pod=rps_p50_per_pod,
        rps_p95_per_pod=evidence.rps,
        launched_at=launched_at,
        predicted=PeerPrediction(
            cpu_cores=evidence.cpu_cores,
            memory_p95_bytes=evidence.memory_p95,
            memory_peak_bytes=evidence.memory_peak,
            tier=evidence.group.tier,
            peers=evidence.group.names,
        ),
        proposed=ProposedSize(
            cpu_request_cores=proposed.cpu_request_cores,
            cpu_limit_cores=proposed.cpu_limit_cores,
            memory_request_bytes=proposed.memory_request_bytes,
            memory_limit_bytes=proposed.memory_limit_bytes,
        ),
        observed=used,
    )


class CalibrationSettings(BaseModel):
    """How outcomes correct the peers; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    prior_outcomes: float = Field(
        3.0, ge=0, le=100, description="least shrinkage: as if this many outcomes at 1× were seen"
    )
    factor_spread: float = Field(
        1.5, gt=1, le=10, description="τ: how far true group factors spread (×/÷) a priori"
    )
    max_factor: float = Field(4.0, ge=1, le=20, description="largest correction either way")
    min_effect: float = Field(
        0.05, ge=0, le=1, description="factors within ±this of 1× are not applied"
    )


@dataclass(frozen=True)
class Factor:
    """One learnt correction: the factor, how many outcomes it rests on, and for whom."""

    value: float
    outcomes: int
    group: str


@dataclass(frozen=True)
class _Ratios:
    """used / predicted per metric, and proposed / predicted (the margins cold start added)."""

    cpu: float | None
    memory: float | None
    peak: float | None
    cpu_margin: float | None
    memory_margin: float | None
    peak_margin: float | None


@dataclass(frozen=True)
class _Seen:
    """One outcome of one metric, on a log scale: used/predicted and proposed/predicted."""

    error: float
    margin: float


def _ratio(used: float, predicted: float) -> float | None:
    if predicted <= 0 or used <= 0:
        return None
    lo, hi = _RATIO_BOUNDS
    return min(max(used / predicted, lo), hi)


def _ratios(o: Outcome) -> _Ratios:
    return _Ratios(
        cpu=_ratio(o.observed.cpu_p95_cores, o.predicted.cpu_cores),
        memory=_ratio(o.observed.memory_p95_bytes, o.predicted.memory_p95_bytes),
        peak=_ratio(o.observed.memory_max_bytes, o.predicted.memory_peak_bytes),
        cpu_margin=_ratio(o.proposed.cpu_request_cores, o.predicted.cpu_cores),
        memory_margin=_ratio(o.proposed.memory_request_bytes, o.predicted.memory_p95_bytes),
        peak_margin=_ratio(
            float(o.proposed.memory_limit_bytes or 0), o.predicted.memory_peak_bytes
        ),
    )


def runtime_key(meta: ServiceMeta) -> tuple[str, str] | None:
    if meta.language is None and meta.framework is None:
        return None
    return (meta.language or "unknown", meta.framework or "unknown")


def _runtime_label(key: tuple[str, str]) -> str:
    language, framework = key
    return f"{language}/{framework} services" if framework != "unknown" else f"{language} services"


def _noise(groups: Sequence[Sequence[float]]) -> float:
    """σ²: pooled within-group variance of log ratios (all of them when no group has two)."""
    pooled = [(len(g) - 1, float(np.var(g, ddof=1))) for g in groups if len(g) >= 2]
    dof = sum(d for d, _ in pooled)
    if dof > 0:
        return sum(d * v for d, v in pooled) / dof
    everything = [x for g in groups for x in g]
    return float(np.var(everything, ddof=1)) if len(everything) >= 2 else 1.0


def _shrunk(logs: Sequence[float], k: float, s: CalibrationSettings) -> float:
    n = len(logs)
    value = math.exp(sum(logs) / n * n / (n + k))
    return min(max(value, 1 / s.max_factor), s.max_factor)


Metric = str  # "cpu" | "memory" | "peak"
_METRICS: tuple[Metric, ...] = ("cpu", "memory", "peak")


@dataclass(frozen=True)
class OutcomeCalibration:
    """Learnt factors per runtime and per namespace, for CPU, p95 memory and peak memory."""

    settings: CalibrationSettings
    runtime: dict[tuple[str, str], dict[Metric, Factor]] = field(default_factory=dict)
    namespace: dict[str, dict[Metric, Factor]] = field(default_factory=dict)

    @property
    def outcomes(self) -> int:
        counts = [f.outcomes for group in self.runtime.values() for f in group.values()]
        return max(counts, default=0)

    def _factors(self, meta: ServiceMeta, namespace: str | None) -> dict[Metric, list[Factor]]:
        found: dict[Metric, list[Factor]] = {m: [] for m in _METRICS}
        key = runtime_key(meta)
        for group in (self.runtime.get(key) if key else None, self.namespace.get(namespace or "")):
            for metric, factor in (group or {}).items():
                if abs(factor.value - 1) > self.settings.min_effect:
                    found[metric].append(factor)
        return found

    def correction(self, meta: ServiceMeta, namespace: str | None = None) -> Correction:
        """The correction cold start applies to a new service of this runtime and namespace."""
        found = self._factors(meta, namespace)
        # The limit's coverage was calibrated on uncorrected peaks: learning may raise it,
        # never lower it below that (launch safety); the first check tightens it instead.
        if math.prod(f.value for f in found["peak"]) < 1.0:
            found["peak"] = []

        def product(metric: Metric) -> float:
            return math.prod(f.value for f in found[metric])

        def notes(metric: Metric, what: str) -> tuple[str, ...]:
            return tuple(
                f"{f.group} here used {f.value:.2g}× the {what} their peers predicted "
                f"({f.outcomes} outcome{'s' if f.outcomes != 1 else ''}); corrected"
                for f in found[metric]
            )

        return Correction(
            cpu=product("cpu"),
            memory=product("memory"),
            peak=product("peak"),
            cpu_notes=notes("cpu", "CPU"),
            memory_notes=notes("memory", "memory") + notes("peak", "peak memory"),
        )


def _learn(
    groups: dict[str, list[tuple[Metric, _Seen]]], label: dict[str, str], s: CalibrationSettings
) -> dict[str, dict[Metric, Factor]]:
    bound = math.log(s.max_factor)
    per: dict[str, dict[Metric, list[_Seen]]] = {}
    for key, pairs in groups.items():
        per[key] = defaultdict(list)
        for metric, seen in pairs:
            per[key][metric].append(_Seen(min(max(seen.error, -bound), bound), seen.margin))
    tau2 = math.log(s.factor_spread) ** 2
    k = {
        m: max(
            s.prior_outcomes,
            _noise([[x.error for x in g[m]] for g in per.values() if m in g]) / tau2,
        )
        for m in _METRICS
    }
    return {
        key: {
            m: Factor(_shrunk([x.error for x in v], k[m], s), len(v), label[key])
            for m, v in metrics.items()
            if _holds_out(v, k[m], s)
        }
        for key, metrics in per.items()
    }


def _holds_out(seen: Sequence[_Seen], k: float, s: CalibrationSettings) -> bool:
    """Whether a group's factor improves sizes it was not learnt from.

    Each outcome's proposed size is corrected by the factor learnt from the group's other
    outcomes; the factor is kept only if that brings the median size closer to what was
    used than no correction does (|log(size / used)|, the replay's error). A bias the group
    shares passes; errors that are each service's own (a CPU cold start off by 5× either
    way) do not, and a single outcome never does.
    """
    if len(seen) < 2:
        return False
    logs = [x.error for x in seen]
    uncorrected = float(np.median([abs(x.margin - x.error) for x in seen]))
    held_out = [
        abs(x.margin + math.log(_shrunk([*logs[:i], *logs[i + 1 :]], k, s)) - x.error)
        for i, x in enumerate(seen)
    ]
    return float(np.median(held_out)) < uncorrected


def _margin(r: _Ratios, metric: Metric) -> float:
    """log(proposed / predicted) for ``metric``; 0 when nothing was proposed for it."""
    value: float | None = getattr(r, f"{metric}_margin")
    return math.log(value) if value is not None else 0.0


def calibrate(
    outcomes: Iterable[Outcome], settings: CalibrationSettings | None = None
) -> OutcomeCalibration:
    """Per-runtime factors, then per-namespace factors on what the runtime leaves over."""
    s = settings or CalibrationSettings()
    rows = [(o, _ratios(o)) for o in outcomes]
    by_runtime: dict[str, list[tuple[Metric, _Seen]]] = defaultdict(list)
    runtime_keys: dict[str, tuple[str, str]] = {}
    for o, r in rows:
        key = runtime_key(o.meta)
        if key is None:
            continue
        name = "/".join(key)
        runtime_keys[name] = key
        for metric in _METRICS:
            value = getattr(r, metric)
            if value is not None:
                by_runtime[name].append((metric, _Seen(math.log(value), _margin(r, metric))))
    runtime_labels = {name: _runtime_label(key) for name, key in runtime_keys.items()}
    runtime = _learn(by_runtime, runtime_labels, s)

    by_namespace: dict[str, list[tuple[Metric, _Seen]]] = defaultdict(list)
    for o, r in rows:
        if not o.namespace:
            continue
        key = runtime_key(o.meta)
        learnt = runtime.get("/".join(key)) if key else None
        for metric in _METRICS:
            value = getattr(r, metric)
            if value is None:
                continue
            explained = learnt[metric].value if learnt and metric in learnt else 1.0
            # What is left to explain; the proposed size corrected by the runtime factor
            # keeps the same margin over the corrected prediction.
            seen = _Seen(math.log(value / explained), _margin(r, metric))
            by_namespace[o.namespace].append((metric, seen))
    namespace_labels = {ns: f"services in namespace {ns}" for ns in by_namespace}
    return OutcomeCalibration(
        settings=s,
        runtime={runtime_keys[name]: f for name, f in runtime.items()},
        namespace=_learn(by_namespace, namespace_labels, s),
    )
