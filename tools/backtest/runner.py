"""Replaying a loaded trace: size every service with each recommender and score the sizes.

Recommenders come in as mappings (defaults: :data:`~tools.backtest.recommenders.RIGHTSIZE` and
:data:`~tools.backtest.recommenders.COLD_START`), so a test or an experiment can pass its own.
Every recommender is scored on the same windows; a service one recommender cannot size is
skipped for all of them, with the reason, so the summaries always compare like with like.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tools.backtest.recommenders import (
    COLD_START,
    RIGHTSIZE,
    ColdStartCase,
    ColdStartRecommender,
    RightsizeRecommender,
)
from tools.backtest.results import (
    BacktestResult,
    Load,
    Mode,
    ReplicaCheck,
    ScoredRecommendation,
    ServiceResult,
    Skipped,
    WindowModel,
)
from tools.backtest.summary import summarise
from tools.backtest.windows import Skip, Window, cold_start_window, split_rightsize
from tools.sizing.coldstart import ColdStartInput
from tools.sizing.models import Policy, Recommendation, UsageHistory
from tools.sizing.profiles import PeerProfile, profile_from_history
from tools.sizing.scoring import score
from tools.traces import Trace

# Benchmark protocol: rightsize history defaults to the service's first 12 hours.
DEFAULT_HISTORY_HOURS = 12.0
# The recommender whose replica proposal is recorded and checked against the request rate.
SIZER = "sizer"

OnService = Callable[[str], None]


def available(mode: Mode) -> tuple[str, ...]:
    return tuple(RIGHTSIZE if mode == "rightsize" else COLD_START)


def rps_percentiles(usage: UsageHistory) -> tuple[float | None, float | None]:
    """p50 and p95 of per-pod rps over the samples where it is known."""
    rps = usage.concat("rps")
    rps = rps[np.isfinite(rps)]
    if len(rps) == 0:
        return None, None
    return float(np.percentile(rps, 50)), float(np.percentile(rps, 95))


def replica_check(usage: UsageHistory, proposed: int) -> ReplicaCheck | None:
    """Total rps per timestamp (summed over pods), p95, spread over the proposed replicas."""
    stamps = np.concatenate([p.timestamps for p in usage.pods]) if usage.pods else np.zeros(0)
    rps = usage.concat("rps")
    known = np.isfinite(rps)
    if not known.any():
        return None
    keys, inverse = np.unique(stamps[known], return_inverse=True)
    total = np.bincount(inverse, weights=rps[known], minlength=len(keys))
    p95 = float(np.percentile(total, 95))
    return ReplicaCheck(
        proposed=proposed,
        trace_pods=usage.replicas(),
        rps_p95_total=p95,
        rps_p95_per_proposed_pod=p95 / max(proposed, 1),
    )


def _scored(
    name: str, rec: Recommendation, scoring: UsageHistory, pods: int, rps_known: bool
) -> ScoredRecommendation:
    metrics = score(
        scoring.pods,
        rec.cpu_request_cores,
        rec.cpu_limit_cores,
        rec.memory_request_bytes,
        rec.memory_limit_bytes,
    )
    proposed = rec.replicas if name == SIZER and rps_known else None
    return ScoredRecommendation.of(rec, pods, metrics, proposed)


def _window(w: Window) -> WindowModel:
    return WindowModel(start=w.start, end=w.end)


def _rightsize_service(
    usage: UsageHistory,
    history_hours: float,
    recommenders: Mapping[str, RightsizeRecommender],
    policy: Policy,
) -> ServiceResult | Skipped:
    split = split_rightsize(usage, history_hours)
    if isinstance(split, Skip):
        return Skipped(service=split.service, reason=split.reason)
    pods = usage.replicas()
    rps_known = bool(np.isfinite(split.scoring.concat("rps")).any())
    scored: dict[str, ScoredRecommendation] = {}
    for name, recommend in recommenders.items():
        try:
            rec = recommend(split.history, policy)
        except ValueError as exc:
            return Skipped(service=usage.service, reason=f"{name} could not size it: {exc}")
        scored[name] = _scored(name, rec, split.scoring, pods, rps_known)
    sizer = scored.get(SIZER)
    check = (
        replica_check(split.scoring, sizer.proposed_replicas)
        if sizer is not None and sizer.proposed_replicas is not None
        else None
    )
    return ServiceResult(
        service=usage.service,
        pods=pods,
        window=_window(split.scoring_window),
        history_window=_window(split.history_window),
        replica_check=check,
        recommenders=scored,
    )


def _without_replicas(case: ColdStartCase) -> ColdStartCase:
    return dataclasses.replace(case, target=case.target.model_copy(update={"replicas": None}))


def _cold_start_service(
    trace: Trace,
    name: str,
    profiles: Mapping[str, PeerProfile],
    recommenders: Mapping[str, ColdStartRecommender],
    policy: Policy,
) -> ServiceResult | Skipped:
    usage = trace.usage[name]
    others = [s for s in sorted(trace.usage) if s != name]
    if not others:
        return Skipped(service=name, reason="no other service in the trace to learn from")
    pods = usage.replicas()
    p50, p95 = rps_percentiles(usage)
    case = ColdStartCase(
        target=ColdStartInput(
            meta=trace.services[name].meta,
            rps_p50_per_pod=p50,
            rps_p95_per_pod=p95,
            replicas=max(pods, 1),
        ),
        peer_profiles=tuple(profiles[s] for s in others),
        peer_histories=tuple(trace.usage[s] for s in others),
        policy=policy,
    )
    scored: dict[str, ScoredRecommendation] = {}
    for rec_name, recommend in recommenders.items():
        try:
            rec = recommend(case)
            if rec_name == SIZER and p50 is not None:
                # Scored at the trace's pod count; Sizer's own replica count comes from the
                # same question asked without a replica count.
                own = recommend(_without_replicas(case))
                why = tuple(r for r in rec.reasons if r.field != "replicas") + tuple(
                    r for r in own.reasons if r.field == "replicas"
                )
                rec = rec.model_copy(update={"replicas": own.replicas, "reasons": why})
        except ValueError as exc:
            return Skipped(service=name, reason=f"{rec_name} could not size it: {exc}")
        scored[rec_name] = _scored(rec_name, rec, usage, pods, p50 is not None)
    sizer = scored.get(SIZER)
    check = (
        replica_check(usage, sizer.proposed_replicas)
        if sizer is not None and sizer.proposed_replicas is not None
        else None
    )
    return ServiceResult(
        service=name,
        pods=pods,
        window=_window(cold_start_window(usage)),
        load=Load(rps_p50_per_pod=p50, rps_p95_per_pod=p95),
        replica_check=check,
        recommenders=scored,
    )


def _collect(
    outcome: ServiceResult | Skipped, services: list[ServiceResult], skipped: list[Skipped]
) -> None:
    if isinstance(outcome, Skipped):
        skipped.append(outcome)
    else:
        services.append(outcome)


def run_backtest(
    trace: Trace,
    mode: Mode,
    *,
    history_hours: float = DEFAULT_HISTORY_HOURS,
    only: Sequence[str] | None = None,
    policy: Policy | None = None,
    rightsize_recommenders: Mapping[str, RightsizeRecommender] = RIGHTSIZE,
    cold_start_recommenders: Mapping[str, ColdStartRecommender] = COLD_START,
    on_service: OnService | None = None,
) -> BacktestResult:
    """Backtest every service of ``trace`` in ``mode``; ``only`` picks recommenders by name."""
    policy = policy or Policy()
    pool: Mapping[str, object] = (
        rightsize_recommenders if mode == "rightsize" else cold_start_recommenders
    )
    names = tuple(only) if only is not None else tuple(pool)
    unknown = [n for n in names if n not in pool]
    if unknown:
        raise ValueError(
            f"unknown recommender(s) for {mode}: {', '.join(unknown)}; "
            f"choose from {', '.join(pool)}"
        )
    if history_hours <= 0:
        raise ValueError(f"history hours must be positive, got {history_hours:g}")
    services: list[ServiceResult] = []
    skipped: list[Skipped] = []
    if mode == "rightsize":
        chosen_rs = {n: rightsize_recommenders[n] for n in names}
        for name in sorted(trace.usage):
            outcome = _rightsize_service(trace.usage[name], history_hours, chosen_rs, policy)
            _collect(outcome, services, skipped)
            if on_service is not None:
                on_service(name)
    else:
        chosen_cs = {n: cold_start_recommenders[n] for n in names}
        profiles = {
            name: profile_from_history(usage, trace.services[name].meta)
            for name, usage in trace.usage.items()
        }
        for name in sorted(trace.usage):
            outcome = _cold_start_service(trace, name, profiles, chosen_cs, policy)
            _collect(outcome, services, skipped)
            if on_service is not None:
                on_service(name)
    return BacktestResult(
        trace=trace.name,
        mode=mode,
        history_hours=history_hours if mode == "rightsize" else None,
        recommenders=names,
        policy=policy.model_dump(mode="json"),
        services=tuple(services),
        skipped=tuple(skipped),
        summary={n: summarise(services, n) for n in names},
    )
