"""Learning replay: calibrate cold start on the outcomes of the first half, predict the rest.

Services are ordered by launch (first sample, then name). Each of the first half is sized
cold (leave-one-out, as in the cold-start mode) and its outcome recorded: the peers'
prediction against what it used over its whole trace. The factors learnt from those outcomes
(:mod:`tools.sizing.outcomes`; the trace's ``system`` stands for the namespace) then correct
the cold start of every service of the second half, and both sizes are scored on the second
half's usage: the cold-start error (|log(request / p95 of 5-min usage)|, so 2× over and 2×
under weigh the same), the benchmark's slack and the share of services free of OOM kills.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.backtest.runner import rps_percentiles
from tools.sizing import coldstart
from tools.sizing.correction import NO_CORRECTION
from tools.sizing.models import Policy, Recommendation
from tools.sizing.outcomes import CalibrationSettings, Outcome, calibrate, outcome_of
from tools.sizing.profiles import PeerProfile, profile_from_history
from tools.sizing.scoring import SizeMetrics, score
from tools.traces import Trace


class LearningScore(BaseModel):
    """One arm (before or after learning) over the predicted half."""

    model_config = ConfigDict(frozen=True)

    services: int
    median_cpu_error: float | None
    median_mem_error: float | None
    median_abs_cpu_slack: float | None
    median_abs_mem_slack: float | None
    median_mem_peak_slack: float | None
    oom_events: int
    zero_oom_share: float | None


class LearningService(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    before: Recommendation
    after: Recommendation
    before_metrics: SizeMetrics
    after_metrics: SizeMetrics
    cpu_p95_cores: float
    memory_p95_bytes: float


class LearningResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    trace: str
    mode: str = "learning"
    calibrated_on: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    factors: tuple[str, ...]
    services: tuple[LearningService, ...]
    before: LearningScore
    after: LearningScore


def _error(request: float, used: float) -> float | None:
    if request <= 0 or used <= 0:
        return None
    return abs(math.log(request / used))


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _arm(rows: Sequence[tuple[Recommendation, SizeMetrics, PeerProfile]]) -> LearningScore:
    n = len(rows)
    return LearningScore(
        services=n,
        median_cpu_error=_median([_error(r.cpu_request_cores, p.cpu_p95) for r, _, p in rows]),
        median_mem_error=_median(
            [_error(float(r.memory_request_bytes), p.mem_p95) for r, _, p in rows]
        ),
        median_abs_cpu_slack=_median(
            [None if m.cpu_slack is None else abs(m.cpu_slack) for _, m, _ in rows]
        ),
        median_abs_mem_slack=_median(
            [None if m.mem_slack is None else abs(m.mem_slack) for _, m, _ in rows]
        ),
        median_mem_peak_slack=_median([m.mem_peak_slack for _, m, _ in rows]),
        oom_events=sum(m.oom_events for _, m, _ in rows),
        zero_oom_share=sum(m.oom_events == 0 for _, m, _ in rows) / n if n else None,
    )


def run_learning(
    trace: Trace,
    *,
    policy: Policy | None = None,
    settings: CalibrationSettings | None = None,
    coldstart_settings: coldstart.ColdStartSettings | None = None,
) -> LearningResult:
    """Calibrate on the first half of the trace's services by launch, predict the second."""
    policy = policy or Policy()
    cold = coldstart_settings or coldstart.ColdStartSettings()
    profiles = {
        name: profile_from_history(usage, trace.services[name].meta)
        for name, usage in trace.usage.items()
    }
    order = sorted(trace.usage, key=lambda n: (trace.usage[n].start, n))
    if len(order) < 4:
        raise ValueError(f"{trace.name}: the learning replay needs at least 4 services")
    first, rest = order[: len(order) // 2], order[len(order) // 2 :]

    def case(name: str) -> tuple[coldstart.ColdStartInput, list[PeerProfile]]:
        usage = trace.usage[name]
        p50, p95 = rps_percentiles(usage)
        meta = trace.services[name].meta
        target = coldstart.ColdStartInput(
            meta=meta,
            rps_p50_per_pod=p50,
            rps_p95_per_pod=p95,
            replicas=max(usage.replicas(), 1),
            namespace=meta.system,
        )
        return target, [profiles[s] for s in sorted(profiles) if s != name]

    outcomes = []
    for name in first:
        target, peers = case(name)
        evidence = coldstart.peer_evidence(target, peers, cold)
        proposed = coldstart.recommend(target, peers, policy, cold)
        outcomes.append(
            outcome_of(
                evidence,
                proposed,
                profiles[name],
                namespace=target.namespace,
                rps_p50_per_pod=target.rps_p50_per_pod,
                launched_at=trace.usage[name].start,
            )
        )
    learnt = calibrate(outcomes, settings)

    services: list[LearningService] = []
    before_rows, after_rows = [], []
    notes: dict[str, None] = {}
    for name in rest:
        target, peers = case(name)
        peak = coldstart.calibrate_peak(peers, cold)
        correction = learnt.correction(target.meta, target.namespace)
        notes.update(dict.fromkeys(correction.cpu_notes + correction.memory_notes))
        usage = trace.usage[name]
        sized = []
        for fix in (NO_CORRECTION, correction):
            rec = coldstart.recommend(target, peers, policy, cold, peak, fix)
            metrics = score(
                usage.pods,
                rec.cpu_request_cores,
                rec.cpu_limit_cores,
                rec.memory_request_bytes,
                rec.memory_limit_bytes,
            )
            sized.append((rec, metrics))
        (before, before_m), (after, after_m) = sized
        before_rows.append((before, before_m, profiles[name]))
        after_rows.append((after, after_m, profiles[name]))
        services.append(
            LearningService(
                service=name,
                before=before,
                after=after,
                before_metrics=before_m,
                after_metrics=after_m,
                cpu_p95_cores=profiles[name].cpu_p95,
                memory_p95_bytes=profiles[name].mem_p95,
            )
        )
    return LearningResult(
        trace=trace.name,
        calibrated_on=tuple(first),
        outcomes=tuple(outcomes),
        factors=tuple(notes),
        services=tuple(services),
        before=_arm(before_rows),
        after=_arm(after_rows),
    )
