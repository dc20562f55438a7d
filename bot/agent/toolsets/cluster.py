"""The cluster toolset: nodes' room, quotas, running workloads, and whether a size fits.

Needs a cluster connection (``KUBECONFIG`` or the clusters file). ``check_fit`` of a stored
proposal also reads the proposal, through the same narrow port the proposal tools use.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bot.agent.fence import fence
from bot.agent.payloads import FitPayload, NodeRow, QuotaRow, WorkloadRow
from bot.agent.ports import Cluster, NotFoundError, Proposals
from bot.agent.toolsets._base import (
    PROPOSAL_ID,
    AgentTool,
    Args,
    BaseToolset,
    ToolResult,
    Turn,
    cpu_text,
    memory_text,
)
from bot.agent.toolsets.proposals import no_proposals
from tools.sizing.models import Dns1123Label
from tools.sizing.quantities import format_cpu, format_memory, parse_cpu, parse_memory

__all__ = ["NO_CLUSTER", "ClusterToolset", "FitArgs", "NamespaceArgs", "NoArgs"]

NO_CLUSTER = "no cluster connection is configured (set KUBECONFIG)"


class NoArgs(Args):
    pass


class NamespaceArgs(Args):
    namespace: Dns1123Label = Field("default", description="Kubernetes namespace")


class FitArgs(Args):
    """Either a stored proposal, or a namespace, replicas and per-pod requests."""

    proposal_id: str | None = Field(None, pattern=PROPOSAL_ID, description="check this one")
    namespace: Dns1123Label = "default"
    replicas: int | None = Field(None, ge=1, le=1000)
    cpu_request: str | None = Field(None, description="per pod, e.g. 250m", max_length=16)
    memory_request: str | None = Field(None, description="per pod, e.g. 256Mi", max_length=16)


class ClusterToolset(BaseToolset):
    """Reads the cluster; never writes to it (the reader has no write)."""

    name: ClassVar[str] = "cluster"

    def __init__(
        self,
        cluster: Cluster | None,
        proposals: Proposals | None = None,
        proposals_off: str | None = None,
    ) -> None:
        self._reader = cluster
        self._proposals = proposals
        self._no_proposals = no_proposals(proposals_off)

    def check_prerequisites(self) -> str | None:
        return NO_CLUSTER if self._reader is None else None

    def tools(self) -> list[AgentTool]:
        return [
            AgentTool(
                "cluster_capacity",
                "Allocatable vs requested CPU and memory on each node (hypervisor).",
                NoArgs,
                self.cluster_capacity,
            ),
            AgentTool(
                "namespace_quotas",
                "The namespace's ResourceQuotas: hard limits and what is used.",
                NamespaceArgs,
                self.namespace_quotas,
            ),
            AgentTool(
                "list_workloads",
                "Workloads running in a namespace with replicas and per-pod requests/limits.",
                NamespaceArgs,
                self.list_workloads,
            ),
            AgentTool(
                "check_fit",
                "Whether a proposal, or N pods of a size, fits the nodes' free room and the quota.",
                FitArgs,
                self.check_fit,
            ),
        ]

    def _cluster(self) -> Cluster:
        if self._reader is None:
            raise NotFoundError(NO_CLUSTER)
        return self._reader

    def cluster_capacity(self, args: NoArgs, turn: Turn) -> ToolResult:
        nodes = self._cluster().nodes()
        if not nodes:
            return ToolResult(status="no_data", error="the cluster lists no nodes")
        rows = tuple(
            NodeRow(
                node=n.name,
                cpu_allocatable=format_cpu(n.cpu_allocatable),
                cpu_requested=format_cpu(n.cpu_requested),
                cpu_free=format_cpu(n.cpu_free),
                memory_allocatable=format_memory(n.memory_allocatable),
                memory_requested=format_memory(n.memory_requested),
                memory_free=format_memory(n.memory_free),
                pods=n.pods,
                unschedulable=n.unschedulable,
            )
            for n in nodes
        )
        return ToolResult(status="ok", data=rows)

    def namespace_quotas(self, args: NamespaceArgs, turn: Turn) -> ToolResult:
        quotas = self._cluster().quotas(args.namespace)
        if not quotas:
            return ToolResult(status="no_data", error=f"no ResourceQuota in {args.namespace}")
        rows = tuple(QuotaRow(quota=q.name, hard=q.hard, used=q.used) for q in quotas)
        return ToolResult(status="ok", data=rows)

    def list_workloads(self, args: NamespaceArgs, turn: Turn) -> ToolResult:
        found = self._cluster().workloads(args.namespace)
        if not found:
            return ToolResult(status="no_data", error=f"no running workloads in {args.namespace}")
        rows = []
        for w in found:
            annotations = None
            if w.annotations:
                text = "\n".join(f"{k}: {v}" for k, v in w.annotations.items())
                annotations = fence(text, f"annotations of {w.namespace}/{w.name}")
            rows.append(
                WorkloadRow(
                    workload=w.name,
                    replicas=w.replicas,
                    cpu_request=format_cpu(w.cpu_request),
                    cpu_limit=cpu_text(w.cpu_limit),
                    memory_request=format_memory(w.memory_request),
                    memory_limit=memory_text(w.memory_limit),
                    image=w.image,
                    annotations=annotations,
                )
            )
        return ToolResult(status="ok", data=tuple(rows))

    def check_fit(self, args: FitArgs, turn: Turn) -> ToolResult:
        cluster = self._cluster()
        namespace, replicas = args.namespace, args.replicas
        cpu, memory = args.cpu_request, args.memory_request
        if args.proposal_id is not None:
            if self._proposals is None:
                raise NotFoundError(self._no_proposals)
            p = self._proposals.get(args.proposal_id)
            namespace, replicas = p.namespace, p.replicas
            cpu, memory = p.cpu_request, p.memory_request
        if replicas is None or cpu is None or memory is None:
            return ToolResult(
                status="error",
                error="give proposal_id, or replicas, cpu_request and memory_request",
            )
        fit = cluster.fit(namespace, replicas, parse_cpu(cpu), parse_memory(memory))
        data = FitPayload(fits=fit.fits, placeable_pods=fit.placeable_pods, problems=fit.problems)
        return ToolResult(status="ok", data=data)
