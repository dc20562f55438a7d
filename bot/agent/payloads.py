"""What the agent's tools return: typed models, turned into JSON only at the edge
(:meth:`~bot.agent.toolsets.ToolResult.text`, the tool message the model reads). The planner
reads their fields; a renamed field is a type error, not a silently missing key.

Two kinds, as the model has always read them: a :class:`Payload` drops the fields it leaves
``None`` (optional detail a tool adds or not), a :class:`Record` states every field and says
``null`` where a value is unknown (a row the model compares with its neighbours).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from tools.plain_why import Edit, Numbers
from tools.sizing.models import Kind, Language, Reason

__all__ = [
    "CheckRow",
    "FitPayload",
    "MatchPayload",
    "Mode",
    "NodeRow",
    "Payload",
    "ProposalPayload",
    "QuotaRow",
    "Record",
    "SimilarRow",
    "SizedPayload",
    "UsagePayload",
    "VerifyPayload",
    "WorkloadRow",
]

# How a payload is shown: as the JSON the model reads, or as values the planner prints.
Mode = Literal["json", "python"]


class Payload(BaseModel):
    """A tool's answer; fields left ``None`` are not shown."""

    model_config = ConfigDict(frozen=True)

    def plain(self, mode: Mode = "json") -> dict[str, Any]:
        """The fields as the model reads them (``json``) or the planner prints them."""
        return self.model_dump(mode=mode, exclude_none=True)


class Record(Payload):
    """A row with a fixed set of keys: ``None`` is shown as ``null``, except in ``OPTIONAL``."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    def plain(self, mode: Mode = "json") -> dict[str, Any]:
        absent = {name for name in self.OPTIONAL if getattr(self, name) is None}
        return self.model_dump(mode=mode, exclude=absent)


# --- sizing and proposals ----------------------------------------------------------------


class _Sized(Payload):
    workload: str
    replicas: int
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None
    confidence: float

    def numbers(self) -> Numbers:
        return Numbers(
            self.replicas, self.cpu_request, self.cpu_limit, self.memory_request, self.memory_limit
        )


class SizedPayload(_Sized):
    """A size worked out but not stored (``recommend``)."""

    reasons: tuple[Reason, ...] = ()
    notes: tuple[str, ...] = ()
    stored: bool = False


class ProposalPayload(_Sized):
    """A stored proposal as the tools show it; detail fields only where the tool adds them."""

    proposal_id: str
    namespace: str
    state: str
    revision: int
    image: str | None = None
    language: str | None = None
    does_not_fit: tuple[str, ...] | None = None
    reasons: tuple[Reason, ...] | None = None
    edits: tuple[Edit, ...] | None = None
    proposed: Numbers | None = None
    applied: bool | None = None
    manifest_yaml: str | None = None
    plan_summary: str | None = None
    requester: str | None = None
    history: tuple[str, ...] | None = None
    next: str | None = None


class MatchPayload(Payload):
    """Which known service a loosely named one is, or the choices when it is ambiguous."""

    query: str
    name: str | None
    choices: tuple[str, ...] = ()


class SimilarRow(Record):
    """An existing service like the one described, with its per-pod usage (``find_similar``)."""

    service: str
    language: Language | None
    framework: str | None
    kind: Kind
    pods: int
    cpu_p95_per_pod: str
    memory_p95_per_pod: str
    rps_p95_per_pod: float | None
    hours_of_history: float


# --- the cluster -------------------------------------------------------------------------


class NodeRow(Record):
    """One node's allocatable, requested and free room (``cluster_capacity``)."""

    node: str
    cpu_allocatable: str
    cpu_requested: str
    cpu_free: str
    memory_allocatable: str
    memory_requested: str
    memory_free: str
    pods: int
    unschedulable: bool


class QuotaRow(Record):
    """One ResourceQuota of a namespace, as the API states it (``namespace_quotas``)."""

    quota: str
    hard: dict[str, str]
    used: dict[str, str]


class WorkloadRow(Record):
    """A running workload's replicas and per-pod size (``list_workloads``); its annotations
    are cluster text, fenced, and only there when it has any."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"annotations"})

    workload: str
    replicas: int
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None
    image: str | None
    annotations: str | None = None


class FitPayload(Record):
    """Whether N pods of a size fit the nodes' free room and the quota (``check_fit``)."""

    fits: bool
    placeable_pods: int
    problems: tuple[str, ...]


# --- metrics -----------------------------------------------------------------------------


class UsagePayload(Record):
    """A deployed workload's per-pod usage over a window (``usage_history``)."""

    workload: str
    pods: int
    samples: int
    hours: float
    cpu_p50_per_pod: str | None
    cpu_p95_per_pod: str | None
    cpu_max_per_pod: str
    memory_p50_per_pod: str | None
    memory_p95_per_pod: str | None
    memory_max_per_pod: str


class CheckRow(Record):
    """One goal of a verification and how the workload did on it."""

    goal: str
    status: str
    detail: str


class VerifyPayload(Record):
    """The report on a deployed workload: use against its requests, and the goals' verdict."""

    workload: str
    verdict: str
    pods: int
    cpu_request: str | None
    memory_request: str | None
    cpu_p95: str
    memory_p95: str
    oom_kills: int
    restarts: int
    checks: tuple[CheckRow, ...]
    notes: tuple[str, ...]
