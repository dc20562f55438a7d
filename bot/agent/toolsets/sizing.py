"""The sizing toolset: services like a new one, which known service a name means, and a size.

Needs only the catalog of peers' history, which every :class:`Capabilities` carries (the
bundled one at the least), read on each call so a refreshed catalog is seen. Names of running
workloads join the known services when a cluster is connected.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import ClassVar

from pydantic import Field

from bot.agent.payloads import MatchPayload, SimilarRow, SizedPayload
from bot.agent.ports import Cluster
from bot.agent.toolsets._base import (
    AgentTool,
    Args,
    BaseToolset,
    ToolResult,
    Turn,
    cpu_text,
    memory_text,
)
from bot.agent.toolsets.stated import unstated_load
from tools.asking import resolve_peer
from tools.catalog import PeerCatalog
from tools.kube import KubeReadError
from tools.propose import SizeRequest, propose, unknown_similar
from tools.sizing.coldstart import ColdStartSettings
from tools.sizing.models import Dns1123Label, Kind, Language, Policy
from tools.sizing.quantities import format_cpu, format_memory

__all__ = ["MatchArgs", "SimilarArgs", "SizeArgs", "SizingToolset"]

# A new service's size request: the tool arguments are the request model itself.
SizeArgs = SizeRequest


class SimilarArgs(Args):
    language: Language | None = None
    framework: str | None = Field(None, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$")
    kind: Kind | None = None
    like: Dns1123Label | None = Field(None, description="an existing service to compare with")
    limit: int = Field(5, ge=1, le=20)


class MatchArgs(Args):
    service: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
        description="how the person named a service: 'the cart service', 'cart-svc'",
    )
    namespace: Dns1123Label = "default"


class SizingToolset(BaseToolset):
    """Works a size out from evidence; stores nothing (storing is the proposal toolset's)."""

    name: ClassVar[str] = "sizing"

    def __init__(
        self,
        catalog: Callable[[], PeerCatalog],
        policy: Policy,
        coldstart: ColdStartSettings,
        cluster: Cluster | None = None,
    ) -> None:
        self._catalog = catalog
        self._policy = policy
        self._coldstart = coldstart
        self._cluster = cluster

    def check_prerequisites(self) -> str | None:
        # The catalog is a required capability, so sizing can always run; it is not read
        # here, because reading it may ask Prometheus and the agent is built before any turn.
        return None

    def tools(self) -> list[AgentTool]:
        return [
            AgentTool(
                "find_similar",
                "Existing services most like a description, with their per-pod usage.",
                SimilarArgs,
                self.find_similar,
            ),
            AgentTool(
                "match_service",
                "Which known service a loosely named one is ('the cart service' → cartservice);"
                " several choices when it is ambiguous: then ask the person which one.",
                MatchArgs,
                self.match_service,
            ),
            AgentTool(
                "recommend",
                "Size a new service (replicas, requests, limits, reasons) without storing it.",
                SizeArgs,
                self.recommend,
            ),
        ]

    def find_similar(self, args: SimilarArgs, turn: Turn) -> ToolResult:
        catalog = self._catalog()
        framework = args.framework.lower() if args.framework else None
        scored = []
        for p in catalog:
            score = 0.0
            score += 2 if args.language and p.meta.language == args.language else 0
            score += 2 if framework and p.meta.framework == framework else 0
            score += 1 if args.kind and p.meta.kind == args.kind else 0
            if args.like:
                score += 3 * difflib.SequenceMatcher(None, args.like, p.meta.name).ratio()
            scored.append((score, p.meta.name, p))
        scored.sort(key=lambda s: (-s[0], s[1]))
        best = [s for s in scored if s[0] > 0][: args.limit]
        if not best:
            return ToolResult(status="no_data", error="no service in the history matches")
        rows = tuple(
            SimilarRow(
                service=p.meta.name,
                language=p.meta.language,
                framework=p.meta.framework,
                kind=p.meta.kind,
                pods=p.pods,
                cpu_p95_per_pod=format_cpu(p.cpu_p95),
                memory_p95_per_pod=format_memory(p.mem_p95),
                rps_p95_per_pod=None if p.rps_p95 is None else round(p.rps_p95, 2),
                hours_of_history=round(p.hours, 1),
            )
            for _, _, p in best
        )
        return ToolResult(status="ok", data=rows, params={"source": catalog.source})

    def known_services(self, namespace: str) -> list[str]:
        """Names the history and the namespace know."""
        names = list(self._catalog().names())
        if self._cluster is not None:
            try:
                running = self._cluster.workloads(namespace)
            except KubeReadError:
                running = []
            names += [w.name for w in running]
        return names

    def match_service(self, args: MatchArgs, turn: Turn) -> ToolResult:
        match = resolve_peer(args.service, self.known_services(args.namespace))
        if match.name is None and not match.choices:
            return ToolResult(status="no_data", error=f"no known service matches {args.service!r}")
        data = MatchPayload(query=match.query, name=match.name, choices=match.choices)
        return ToolResult(status="ok", data=data)

    def recommend(self, args: SizeArgs, turn: Turn) -> ToolResult:
        unsaid = unstated_load(args, turn)
        if unsaid:
            return ToolResult(status="error", error=unsaid)
        catalog = self._catalog()
        rec = propose(args, catalog, self._policy, self._coldstart)
        data = SizedPayload(
            workload=args.name,
            replicas=rec.replicas,
            cpu_request=format_cpu(rec.cpu_request_cores),
            cpu_limit=cpu_text(rec.cpu_limit_cores),
            memory_request=format_memory(rec.memory_request_bytes),
            memory_limit=memory_text(rec.memory_limit_bytes),
            confidence=round(rec.confidence, 2),
            reasons=rec.reasons,
            notes=tuple(unknown_similar(args, catalog)),
        )
        return ToolResult(status="ok", data=data)
