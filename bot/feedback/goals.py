"""The goals a check judges, from the workload's own samples and the size it runs with.

Sizer's goals: no OOM kill, no CPU saturation or throttling, requests within 10 % of the p95
of 5-minute usage, and a memory limit that covers the peak. The numbers come from
:func:`tools.sizing.scoring.score` (what the benchmark scores) and the events from
:func:`tools.verify.verify_workload` (kube-state-metrics), so a report, ``sizer verify`` and a
backtest of the same data agree. A launch check (+1 h) judges only what can go wrong at once:
kills, crash loops and saturation; slack needs a day of history.

A crash loop is what the kubelet calls one: a container seen waiting in ``CrashLoopBackOff``
(kube-state-metrics' ``kube_pod_container_status_waiting_reason``). Only where that metric is
not in the Prometheus at all does a restart count stand in, and OOM kills are left out of it:
a kill is the no-oom goal's, and a memory raise is its answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.approvals.models import Sizing
from tools.prometheus import queries as q
from tools.sizing.goals import Goals
from tools.sizing.models import UsageHistory
from tools.sizing.quantities import format_cpu, format_memory, parse_cpu, parse_memory
from tools.sizing.scoring import SizeMetrics, score
from tools.verify import Verification

__all__ = ["CrashLoops", "GoalResult", "Judgement", "SizeInUse", "judge", "size_in_use"]

GoalName = Literal["no-oom", "no-crash-loop", "no-saturation", "requests-fit", "limit-covers-peak"]
Status = Literal["pass", "fail", "not judged"]


class GoalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    goal: GoalName
    status: Status
    detail: str


class CrashLoops(BaseModel):
    """The workload's containers kube-state-metrics reported waiting in CrashLoopBackOff.

    ``reported`` is False when the waiting-reason metric is not in that Prometheus at all
    (kube-state-metrics not scraped, or an older one): then restarts are counted instead.
    """

    model_config = ConfigDict(frozen=True)

    reported: bool
    pods: tuple[str, ...] = ()
    first_at: float | None = None


class SizeInUse(BaseModel):
    """Per-pod requests and limits the check scores against, and where they were read."""

    model_config = ConfigDict(frozen=True)

    cpu_request: float
    cpu_limit: float | None
    memory_request: float
    memory_limit: float | None
    source: Literal["cluster", "proposal"]


class Judgement(BaseModel):
    model_config = ConfigDict(frozen=True)

    goals: tuple[GoalResult, ...]
    metrics: SizeMetrics
    size: SizeInUse

    @property
    def met(self) -> bool:
        return all(g.status != "fail" for g in self.goals)

    def missed(self) -> list[GoalResult]:
        return [g for g in self.goals if g.status == "fail"]

    def status(self, goal: GoalName) -> Status:
        return next(g.status for g in self.goals if g.goal == goal)


def size_in_use(verification: Verification, applied: Sizing) -> SizeInUse:
    """What kube-state-metrics says is in force; the applied revision where it says nothing."""
    f = verification.in_force
    if f.cpu_request_cores is not None and f.memory_request_bytes is not None:
        return SizeInUse(
            cpu_request=f.cpu_request_cores,
            cpu_limit=f.cpu_limit_cores,
            memory_request=f.memory_request_bytes,
            memory_limit=f.memory_limit_bytes,
            source="cluster",
        )
    return SizeInUse(
        cpu_request=parse_cpu(applied.cpu_request),
        cpu_limit=parse_cpu(applied.cpu_limit) if applied.cpu_limit else None,
        memory_request=parse_memory(applied.memory_request),
        memory_limit=parse_memory(applied.memory_limit) if applied.memory_limit else None,
        source="proposal",
    )


def _slack(name: str, slack: float | None, bound: float) -> str:
    if slack is None:
        return f"{name}: no request"
    return f"{name} {slack:+.0%}"


def _crash_loop(verification: Verification, loops: CrashLoops, restarts: int) -> GoalResult:
    """CrashLoopBackOff where kube-state-metrics reports waiting reasons; else restarts that
    were not OOM kills, at least ``restarts`` of them."""
    total, kills = verification.restarts, verification.oom_kills
    other = max(total - kills, 0)
    counted = f"{total} restart(s), {other} not OOM kills"
    if loops.reported:
        if loops.pods:
            when = datetime.fromtimestamp(loops.first_at or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")
            seen = (
                f"CrashLoopBackOff on {', '.join(loops.pods)} (kube-state-metrics "
                f"{q.WAITING_REASON}), first seen {when}; {counted}"
            )
            if kills and not other:  # the kubelet backs off after OOM kills too
                return GoalResult(
                    goal="no-crash-loop",
                    status="pass",
                    detail=f"{seen}: every restart was an OOM kill, judged under no OOM kill",
                )
            return GoalResult(goal="no-crash-loop", status="fail", detail=seen)
        return GoalResult(
            goal="no-crash-loop",
            status="pass",
            detail=f"never in CrashLoopBackOff ({q.WAITING_REASON}); {counted}",
        )
    return GoalResult(
        goal="no-crash-loop",
        status="fail" if other >= restarts else "pass",
        detail=f"{counted}; {q.WAITING_REASON} is not in this Prometheus, so restarts that "
        f"are not OOM kills are counted instead (a crash loop is {restarts} or more)",
    )


def judge(
    history: UsageHistory,
    verification: Verification,
    size: SizeInUse,
    *,
    launch: bool,
    crash_loops: CrashLoops,
    crash_loop_restarts: int,
    goals: Goals | None = None,
) -> Judgement:
    """Every goal as pass / fail (or not judged at launch), each with the numbers behind it."""
    g = goals or Goals()
    m = score(
        history.pods, size.cpu_request, size.cpu_limit, size.memory_request, size.memory_limit
    )
    kills = verification.oom_kills
    oom = GoalResult(
        goal="no-oom",
        status="fail" if kills or m.oom_events else "pass",
        detail=f"{kills} OOM kill(s) reported by kube-state-metrics; memory above the limit "
        f"{m.oom_events} time(s)",
    )
    crash = _crash_loop(verification, crash_loops, crash_loop_restarts)
    throttled = verification.throttled_share
    saturated = g.saturated(m.cpu_saturated_share, throttled)
    saturation = GoalResult(
        goal="no-saturation",
        status="fail" if saturated else "pass",
        detail=(
            f"{m.cpu_saturated_share:.1%} of samples at ≥ 90 % of the CPU limit"
            if size.cpu_limit is not None
            else "no CPU limit, so no saturation"
        )
        + (
            f"; {throttled:.1%} of CFS periods throttled"
            if throttled is not None
            else "; throttling not measured"
        ),
    )
    fits = g.requests_fit(m.cpu_slack, m.mem_slack)
    requests = GoalResult(
        goal="requests-fit",
        status="not judged" if launch else "pass" if fits else "fail",
        detail=(
            f"{_slack('CPU request slack', m.cpu_slack, g.max_abs_slack)}, "
            f"{_slack('memory request slack', m.mem_slack, g.max_abs_slack)} against the p95 "
            f"of 5-minute usage (goal within ±{g.max_abs_slack:.0%})"
        )
        + ("; judged at the 24 h report" if launch else ""),
    )
    peak = float(history.concat("memory").max())
    if size.memory_limit is None:
        covers, peak_detail = True, f"no memory limit; peak {format_memory(int(peak))}"
    else:
        covers = peak <= size.memory_limit
        peak_detail = (
            f"memory limit {format_memory(int(size.memory_limit))} against a peak of "
            f"{format_memory(int(peak))}"
        )
    cpu_peak = float(history.concat("cpu").max())
    if size.cpu_limit is not None:
        peak_detail += f"; CPU limit {format_cpu(size.cpu_limit)}, peak {format_cpu(cpu_peak)}"
    limit = GoalResult(
        goal="limit-covers-peak", status="pass" if covers else "fail", detail=peak_detail
    )
    return Judgement(goals=(oom, crash, saturation, requests, limit), metrics=m, size=size)
