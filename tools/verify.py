"""Verification of a deployed workload against Sizer's goals: the numbers behind the 24 h report.

Usage is scored with :func:`tools.sizing.scoring.score`, the function the benchmark uses, on the
workload's raw samples from Prometheus, so a verification and a backtest of the same data agree.
Goals: no OOM kill, no CPU saturation, and requests within 10 % of the p95 of 5-minute usage.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel

from tools.prometheus import queries as q
from tools.prometheus.client import EmptyResult, PrometheusClient, Series
from tools.prometheus.history import Workload, fetch_usage_history
from tools.sizing.goals import Goals
from tools.sizing.models import check_dns1123
from tools.sizing.scoring import SizeMetrics, pooled_window_means, score

Status = Literal["pass", "fail", "unknown"]


class InForce(BaseModel):
    """Per-pod requests and limits at the end of the window (None: not set)."""

    cpu_request_cores: float | None
    cpu_limit_cores: float | None
    memory_request_bytes: float | None
    memory_limit_bytes: float | None
    changed_in_window: bool = False


class UsageSummary(BaseModel):
    """p50 and p95 of 5-minute means, and the largest raw sample (cores or bytes)."""

    p50: float
    p95: float
    max: float


class Check(BaseModel):
    goal: Literal["no-oom", "no-saturation", "cpu-slack", "memory-slack"]
    status: Status
    detail: str


class Verification(BaseModel):
    workload: Workload
    start: int
    end: int
    pods: int
    samples: int
    in_force: InForce
    cpu: UsageSummary
    memory: UsageSummary
    metrics: SizeMetrics
    oom_kills: int
    last_oom_kill_at: float | None = None
    restarts: int
    throttled_share: float | None
    throttling_note: str | None = None
    checks: tuple[Check, ...]
    verdict: Literal["met", "not met", "unknown"]
    notes: tuple[str, ...] = ()


def find_namespace(client: PrometheusClient, name: str, since_s: int, at: float | None) -> str:
    """The one namespace where a container named ``name`` ran in the window."""
    sel = q.selector(q.matcher("container", name))
    rows = client.instant(
        f"group by (namespace) (last_over_time({q.MEMORY}{sel}[{q.seconds(since_s)}]))", at
    )
    namespaces = sorted(r.labels.get("namespace", "") for r in rows)
    if not namespaces:
        raise EmptyResult(f"no container named {name} in the last {since_s / 3600:g} h")
    if len(namespaces) > 1:
        raise EmptyResult(f"{name} runs in several namespaces ({', '.join(namespaces)}); pick one")
    return check_dns1123(namespaces[0])


def _in_force(series: list[Series]) -> tuple[dict[str, float], bool]:
    """Latest value per resource (largest across pods) and whether any value changed."""
    latest: dict[str, tuple[float, float]] = {}
    changed = False
    for s in series:
        if not len(s.values):
            continue
        resource = s.labels.get("resource", "")
        changed |= bool(np.ptp(s.values) > 0)
        stamp, value = float(s.timestamps[-1]), float(s.values[-1])
        held = latest.get(resource)
        if held is None or stamp > held[0] or (stamp == held[0] and value > held[1]):
            latest[resource] = (stamp, value)
    return {r: v for r, (_, v) in latest.items()}, changed


def _restarts_and_ooms(
    restarts: list[Series], reasons: list[Series], tolerance: float
) -> tuple[int, int, float | None]:
    """Restarts in the window, those after which the last termination was an OOM kill, and
    when the last of those was seen (the restart sample's time)."""
    oom_at: dict[tuple[str, str], np.ndarray] = {}
    for s in reasons:
        key = (s.labels.get("pod", ""), s.labels.get("container", ""))
        oom_at[key] = np.sort(np.concatenate([oom_at.get(key, np.zeros(0)), s.timestamps]))
    total = ooms = 0
    last: float | None = None
    for s in restarts:
        if len(s.values) < 2:
            continue
        step = np.diff(s.values)
        step = np.where(step < 0, s.values[1:], step)  # a reset: the new value counts from 0
        total += round(float(step.sum()))
        stamps = oom_at.get((s.labels.get("pod", ""), s.labels.get("container", "")))
        if stamps is None or not len(stamps):
            continue
        after = s.timestamps[1:]
        nearest = np.clip(np.searchsorted(stamps, after), 0, len(stamps) - 1)
        near = np.minimum(
            np.abs(stamps[nearest] - after), np.abs(stamps[np.maximum(nearest - 1, 0)] - after)
        )
        killed = (near <= tolerance) & (step > 0)
        ooms += round(float(step[killed].sum()))
        if killed.any():
            at = float(after[killed].max())
            last = at if last is None else max(last, at)
    return total, ooms, last


def _throttling(
    client: PrometheusClient, sel: str, since_s: int, at: float | None, has_cpu_limit: bool
) -> tuple[float | None, str | None]:
    periods = client.instant(q.increase_total(q.PERIODS, sel, since_s), at)
    throttled = client.instant(q.increase_total(q.THROTTLED, sel, since_s), at)
    if periods and throttled and periods[0].values[0] > 0:
        return float(throttled[0].values[0] / periods[0].values[0]), None
    if not client.has(q.PERIODS, since_s, at):
        # Not a sign of a missing cAdvisor: the usage just read is cAdvisor's (without it the
        # history fails first, naming cAdvisor). cAdvisor writes CFS counters only for
        # containers with a CPU limit, and a history backfilled from a trace has none (traces
        # record no throttling), so this only states what Prometheus holds.
        return None, f"not recorded: no {q.THROTTLING_SERIES} series in Prometheus"
    if not has_cpu_limit:
        return None, "not recorded: CFS periods are counted only for containers with a CPU limit"
    return None, f"not recorded: no {q.PERIODS} for this workload in the window"


def _slack_check(
    goal: Literal["cpu-slack", "memory-slack"], slack: float | None, bound: float
) -> Check:
    if slack is None:
        return Check(goal=goal, status="unknown", detail="no request set, so no slack")
    ok = abs(slack) <= bound
    return Check(
        goal=goal,
        status="pass" if ok else "fail",
        detail=f"slack {slack:+.1%} ({'within' if ok else 'outside'} ±{bound:.0%})",
    )


def _checks(
    v_metrics: SizeMetrics, oom_kills: int, limits: InForce, throttled: float | None, goals: Goals
) -> tuple[Check, ...]:
    oom_total = oom_kills + v_metrics.oom_events
    oom = Check(
        goal="no-oom",
        status="fail" if oom_total else "pass",
        detail=f"{oom_kills} OOM kill(s) reported, memory above its limit "
        f"{v_metrics.oom_events} time(s)",
    )
    saturated = v_metrics.cpu_saturated_share >= goals.max_saturated_share
    throttled_high = throttled is not None and throttled >= goals.max_throttled_share
    parts = [
        f"{v_metrics.cpu_saturated_share:.1%} of samples at >= 90 % of the CPU limit"
        if limits.cpu_limit_cores is not None
        else "no CPU limit"
    ]
    parts.append(
        f"{throttled:.1%} of CFS periods throttled"
        if throttled is not None
        else "throttling not recorded"
    )
    saturation = Check(
        goal="no-saturation",
        status="fail" if saturated or throttled_high else "pass",
        detail=", ".join(parts),
    )
    return (
        oom,
        saturation,
        _slack_check("cpu-slack", v_metrics.cpu_slack, goals.max_abs_slack),
        _slack_check("memory-slack", v_metrics.mem_slack, goals.max_abs_slack),
    )


def verify_workload(
    client: PrometheusClient,
    schema: q.MetricSchema,
    workload: Workload,
    since_s: int = 86400,
    at: float | None = None,
    goals: Goals | None = None,
) -> Verification:
    """Requests and limits in force, usage, slack, OOM kills, restarts, throttling, verdict."""
    goals = goals or Goals()
    at = time.time() if at is None else at
    history = fetch_usage_history(client, schema, workload, since_s, at)
    sel = workload.selector()
    requests = client.samples(q.raw(q.REQUESTS, sel, since_s), at)
    limits = client.samples(q.raw(q.LIMITS, sel, since_s), at)
    restarts = client.samples(q.raw(q.RESTARTS, sel, since_s), at)
    reasons = client.samples(
        q.raw(q.LAST_TERMINATED, workload.selector('reason="OOMKilled"'), since_s), at
    )
    if not (requests or limits or restarts):
        # kube-state-metrics reports restarts for every container: none means it is not scraped
        client.require(q.RESTARTS, since_s, at, schema)
    req, req_changed = _in_force(requests)
    lim, lim_changed = _in_force(limits)
    in_force = InForce(
        cpu_request_cores=req.get("cpu"),
        cpu_limit_cores=lim.get("cpu"),
        memory_request_bytes=req.get("memory"),
        memory_limit_bytes=lim.get("memory"),
        changed_in_window=req_changed or lim_changed,
    )
    metrics = score(
        history.pods,
        in_force.cpu_request_cores or 0.0,
        in_force.cpu_limit_cores,
        in_force.memory_request_bytes or 0.0,
        in_force.memory_limit_bytes,
    )
    restart_count, oom_kills, last_kill = _restarts_and_ooms(
        restarts, reasons, history.interval_s / 2
    )
    throttled, note = _throttling(client, sel, since_s, at, in_force.cpu_limit_cores is not None)
    checks = _checks(metrics, oom_kills, in_force, throttled, goals)
    statuses = {c.status for c in checks}
    verdict: Literal["met", "not met", "unknown"] = (
        "not met" if "fail" in statuses else "unknown" if "unknown" in statuses else "met"
    )
    cpu5 = pooled_window_means(history.pods, memory=False)
    mem5 = pooled_window_means(history.pods, memory=True)
    notes = []
    covered = history.end - history.start
    if covered < 0.9 * since_s:
        notes.append(f"history covers {covered / 3600:.1f} h of the {since_s / 3600:g} h asked")
    if in_force.changed_in_window:
        notes.append("requests or limits changed inside the window; scored against the last")
    return Verification(
        workload=workload,
        start=history.start,
        end=history.end,
        pods=history.replicas(),
        samples=history.samples,
        in_force=in_force,
        cpu=UsageSummary(
            p50=float(np.percentile(cpu5, 50)),
            p95=float(np.percentile(cpu5, 95)),
            max=float(history.concat("cpu").max()),
        ),
        memory=UsageSummary(
            p50=float(np.percentile(mem5, 50)),
            p95=float(np.percentile(mem5, 95)),
            max=float(history.concat("memory").max()),
        ),
        metrics=metrics,
        oom_kills=oom_kills,
        last_oom_kill_at=last_kill,
        restarts=restart_count,
        throttled_share=throttled,
        throttling_note=note,
        checks=checks,
        verdict=verdict,
        notes=tuple(notes),
    )
