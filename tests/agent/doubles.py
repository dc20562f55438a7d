"""Test doubles for the agent's ports: proposals in memory, a fixed cluster, canned history."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from bot.agent.ports import NotFoundError, ProposalView, Refused
from bot.agent.toolsets import Capabilities
from tools.catalog import PeerCatalog, load_catalog
from tools.kube import Fit, NodeRoom, QuotaUse, WorkloadUse, check_fit
from tools.prometheus.history import Workload
from tools.propose import SizeRequest, propose
from tools.sizing.models import Policy, UsageHistory
from tools.sizing.quantities import format_cpu, format_memory
from tools.sizing.scoring import SizeMetrics
from tools.verify import Check, InForce, UsageSummary, Verification


@cache
def bundled() -> PeerCatalog:
    return load_catalog()


@dataclass
class FakeProposals:
    """Sizes with the real engine; stores proposals in a dict. No approve, as in the port."""

    policy: Policy = field(default_factory=Policy)
    stored: dict[str, ProposalView] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    requests: list[SizeRequest] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(0xA0))

    def size(
        self, request: SizeRequest, requester: str, channel: str, thread_ts: str
    ) -> ProposalView:
        self.calls.append(f"size {request.name}")
        self.requests.append(request)
        rec = propose(request, bundled(), self.policy)
        view = ProposalView(
            id=f"p-{next(self._ids):08x}",
            workload=request.name,
            namespace=request.namespace,
            state="proposed",
            revision=1,
            replicas=rec.replicas,
            cpu_request=format_cpu(rec.cpu_request_cores),
            cpu_limit=format_cpu(rec.cpu_limit_cores) if rec.cpu_limit_cores else None,
            memory_request=format_memory(rec.memory_request_bytes),
            memory_limit=format_memory(rec.memory_limit_bytes) if rec.memory_limit_bytes else None,
            confidence=rec.confidence,
            reasons=rec.reasons,
            requester=requester,
            updated_by=requester,
            manifest_yaml=f"kind: Deployment\nmetadata:\n  name: {request.name}\n",
            plan_summary="Plan: 0 to add, 0 to change, 0 to destroy.",
            trail=(f"proposed by <@{requester}>",),
        )
        self.stored[view.id] = view
        return view

    def get(self, proposal_id: str) -> ProposalView:
        self.calls.append(f"get {proposal_id}")
        if proposal_id not in self.stored:
            raise NotFoundError(f"no proposal {proposal_id!r}; IDs look like p-1a2b3c4d")
        return self.stored[proposal_id]

    def why(self, target: str) -> ProposalView:
        self.calls.append(f"why {target}")
        if target in self.stored:
            return self.stored[target]
        name = target.rpartition("/")[2]
        for view in reversed(list(self.stored.values())):
            if view.workload == name:
                return view
        raise NotFoundError(f"I have no proposal for {target!r}")

    def edit(self, proposal_id: str, actor: str, changes: Mapping[str, str]) -> ProposalView:
        self.calls.append(f"edit {proposal_id} {dict(changes)}")
        current = self.get(proposal_id)
        if "replicas" in changes and int(changes["replicas"]) > 50:
            raise Refused("replicas: a whole number from 1 to 50")
        update: dict[str, object] = {k: (v or None) for k, v in changes.items()}
        if "replicas" in update:
            update["replicas"] = int(changes["replicas"])
        new = current.model_copy(update=update | {"revision": current.revision + 1})
        self.stored[proposal_id] = new
        return new


@dataclass
class FakeCluster:
    nodes_: list[NodeRoom] = field(
        default_factory=lambda: [
            NodeRoom(
                name=f"hv{i}",
                cpu_allocatable=16,
                cpu_requested=10,
                memory_allocatable=64 * 2**30,
                memory_requested=40 * 2**30,
                pods=30,
            )
            for i in (1, 2, 3)
        ]
    )
    annotations: dict[str, str] = field(default_factory=dict)

    def nodes(self) -> list[NodeRoom]:
        return self.nodes_

    def quotas(self, namespace: str) -> list[QuotaUse]:
        return [
            QuotaUse(
                name="compute",
                namespace=namespace,
                hard={"requests.cpu": "8", "requests.memory": "16Gi"},
                used={"requests.cpu": "6", "requests.memory": "10Gi"},
            )
        ]

    def workloads(self, namespace: str) -> list[WorkloadUse]:
        return [
            WorkloadUse(
                name="image-resizer",
                namespace=namespace,
                replicas=2,
                cpu_request=0.25,
                memory_request=256 * 2**20,
                annotations=self.annotations,
                image="ghcr.io/acme/image-resizer:3.2",
            )
        ]

    def fit(self, namespace: str, replicas: int, cpu_request: float, memory_request: int) -> Fit:
        return check_fit(
            self.nodes(), self.quotas(namespace), replicas, cpu_request, memory_request
        )


@dataclass
class FakeHistory:
    history: UsageHistory | None = None
    verification: Verification | None = None

    def usage(self, namespace: str, name: str, since_s: int) -> UsageHistory:
        if self.history is None:
            raise NotFoundError(f"no samples for {namespace}/{name}")
        return self.history

    def verify(self, namespace: str, name: str, since_s: int) -> Verification:
        if self.verification is None:
            raise NotFoundError(f"no samples for {namespace}/{name}")
        return self.verification


def verification(name: str = "api", namespace: str = "team-a") -> Verification:
    """A day's report with one goal met and one missed, and no memory request in force."""
    return Verification(
        workload=Workload(name=name, namespace=namespace),
        start=0,
        end=86400,
        pods=2,
        samples=576,
        in_force=InForce(
            cpu_request_cores=0.25,
            cpu_limit_cores=None,
            memory_request_bytes=None,
            memory_limit_bytes=None,
        ),
        cpu=UsageSummary(p50=0.1, p95=0.2, max=0.3),
        memory=UsageSummary(p50=100 * 2**20, p95=200 * 2**20, max=300 * 2**20),
        metrics=SizeMetrics(
            cpu_slack=0.25,
            mem_slack=None,
            mem_peak_slack=None,
            oom_events=0,
            cpu_saturated_share=0.0,
            cpu_over_request_share=0.0,
        ),
        oom_kills=0,
        restarts=1,
        throttled_share=None,
        checks=(
            Check(goal="no-oom", status="pass", detail="no OOM kill"),
            Check(goal="cpu-slack", status="fail", detail="requests 25% above the p95"),
        ),
        verdict="not met",
        notes=("memory has no request",),
    )


def capabilities(**overrides: object) -> Capabilities:
    caps = Capabilities(
        catalog=bundled,
        policy=Policy(),
        proposals=FakeProposals(),
        cluster=FakeCluster(),
        history=FakeHistory(),
    )
    for key, value in overrides.items():
        setattr(caps, key, value)
    return caps
