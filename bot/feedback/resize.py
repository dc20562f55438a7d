"""What a check proposes when a goal is missed: a right-size, or a memory raise after a kill.

Both come from the workload's own history through the engine's right-size strategy
(:mod:`tools.sizing.rightsize`); replicas stay as they run, since the checks judge per-pod
size. An OOM kill raises memory only: the limit goes above both the largest sample and the
limit that was hit (working-set samples stop at the limit, so the real demand is above it),
and the request never drops, so a raise can only help the pod that was killed.

After a person rejected a check's revision, :func:`moved` says whether what a later check
would propose differs enough from the rejected one to ask again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from bot.approvals.models import Sizing
from bot.feedback.goals import SizeInUse
from tools.sizing.models import Policy, Reason, Recommendation, UsageHistory
from tools.sizing.quantities import format_cpu, format_memory, parse_cpu, parse_memory
from tools.sizing.rightsize import RightsizeSettings, recommend

__all__ = ["MEANINGFUL_SHARE", "KillEvidence", "Resize", "memory_raise", "moved", "rightsize"]

RAISE_OVER_KILLED_LIMIT = 1.25
# A size within this share of a rejected one is the same answer again, not a new proposal.
MEANINGFUL_SHARE = 0.10
_NUMBERS = (
    ("replicas", float),
    ("cpu_request", parse_cpu),
    ("cpu_limit", parse_cpu),
    ("memory_request", parse_memory),
    ("memory_limit", parse_memory),
)


class KillEvidence(BaseModel):
    """The OOM kills a raise answers, as kube-state-metrics reported them."""

    model_config = ConfigDict(frozen=True)

    kills: int
    pods: tuple[str, ...]
    first_at: float | None = None


class Resize(BaseModel):
    """A size to propose as a new revision, and the reasons behind each number."""

    model_config = ConfigDict(frozen=True)

    sizing: Sizing
    reasons: tuple[Reason, ...]
    confidence: float
    note: str


def _sizing(rec: Recommendation, replicas: int) -> Sizing:
    return Sizing(
        replicas=replicas,
        cpu_request=format_cpu(rec.cpu_request_cores),
        cpu_limit=format_cpu(rec.cpu_limit_cores) if rec.cpu_limit_cores is not None else None,
        memory_request=format_memory(rec.memory_request_bytes),
        memory_limit=(
            format_memory(rec.memory_limit_bytes) if rec.memory_limit_bytes is not None else None
        ),
    )


def rightsize(
    history: UsageHistory,
    applied: Sizing,
    policy: Policy,
    settings: RightsizeSettings,
    missed: Sequence[str],
) -> Resize:
    """Requests at the recency-weighted p95 of the workload's usage, limits over its peaks."""
    rec = recommend(history, policy, settings)
    reasons = tuple(r for r in rec.reasons if r.field != "replicas")
    return Resize(
        sizing=_sizing(rec, applied.replicas),
        reasons=reasons,
        confidence=rec.confidence,
        note="right-size from its own usage after the check missed " + ", ".join(missed),
    )


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "in the window"
    return "at " + datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def memory_raise(
    history: UsageHistory,
    applied: Sizing,
    in_use: SizeInUse,
    kills: KillEvidence,
    policy: Policy,
    settings: RightsizeSettings,
) -> Resize:
    """More memory after an OOM kill; CPU and replicas unchanged. The reason cites the kill."""
    rec = recommend(history, policy, settings)
    killed_limit = in_use.memory_limit
    limit = float(rec.memory_limit_bytes or 0)
    if killed_limit is not None:
        limit = max(limit, killed_limit * RAISE_OVER_KILLED_LIMIT)
    request = max(float(rec.memory_request_bytes), in_use.memory_request)
    if policy.memory_limit == "equal-request":
        request = limit = max(request, limit)
    peak = float(history.concat("memory").max())
    pods = ", ".join(kills.pods) or "its pods"
    cite = (
        f"{kills.kills} OOM kill(s) on {pods}, the first {_when(kills.first_at)}, with the "
        f"memory limit at {format_memory(killed_limit) if killed_limit else 'none'}"
    )
    window = f"{(history.end - history.start) / 3600:.1f} h before the check"
    reasons = (
        Reason(
            field="memory_limit",
            value=limit,
            statistic="max(right-size limit, killed limit × 1.25)",
            window=window,
            margin=RAISE_OVER_KILLED_LIMIT - 1,
            text=f"raised after {cite}: above the largest sample {format_memory(peak)} and "
            f"{RAISE_OVER_KILLED_LIMIT - 1:.0%} over the limit that was hit",
        ),
        Reason(
            field="memory_request",
            value=request,
            statistic="max(right-size request, request in force)",
            window=window,
            text=f"kept at least at the request in force ({format_memory(in_use.memory_request)})"
            f" so the raise only adds memory",
        ),
        Reason(
            field="cpu_request",
            value=None,
            statistic="unchanged",
            window=window,
            text=f"unchanged at {applied.cpu_request}: the kill was memory, not CPU",
        ),
    )
    sizing = applied.model_copy(
        update={
            "memory_request": format_memory(math.ceil(request)),
            "memory_limit": format_memory(math.ceil(limit)),
        }
    )
    return Resize(
        sizing=sizing,
        reasons=reasons,
        confidence=rec.confidence,
        note=f"memory raise after {cite}",
    )


def moved(new: Sizing, old: Sizing, share: float = MEANINGFUL_SHARE) -> list[str]:
    """``field old → new (±n %)`` for each number that moves by more than ``share`` of the old
    value; a limit set where there was none, or dropped, always counts."""
    out = []
    for name, parse in _NUMBERS:
        before, after = getattr(old, name), getattr(new, name)
        if before is None and after is None:
            continue
        if before is None or after is None:
            out.append(f"{name} {before or 'none'} → {after or 'none'}")
            continue
        a, b = float(parse(str(before))), float(parse(str(after)))
        if a == b:
            continue
        if a == 0 or abs(b - a) / a > share:
            change = f" ({(b - a) / a:+.0%})" if a else ""
            out.append(f"{name} {before} → {after}{change}")
    return out
