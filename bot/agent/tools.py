"""The agent's tools: read, size, propose; each takes a pydantic args model, returns one envelope.

Every tool answers with :class:`ToolResult` (``ok``, ``error``, ``no_data`` or
``approval_required``); an error is text the model can act on, never an exception. The set is
built from a :class:`Capabilities` object, so tests pass doubles, and it holds nothing that can
apply: proposals are reached through :class:`~bot.agent.ports.Proposals`, which has no approve.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.agent.fence import fence, redact, redact_data
from bot.agent.payloads import MatchPayload, ProposalPayload, SizedPayload
from bot.agent.ports import Cluster, History, NotFoundError, Proposals, ProposalView, Refused
from bot.observability.metrics import AGENT_TOOL_CALLS
from tools.asking import Load, LoadError, find_load, resolve_peer
from tools.catalog import PeerCatalog
from tools.kube import KubeReadError
from tools.prometheus import NoData, PrometheusError
from tools.propose import SizeRequest, propose, unknown_similar
from tools.sizing.coldstart import ColdStartSettings
from tools.sizing.models import Dns1123Label, Kind, Language, Policy
from tools.sizing.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)
from tools.sizing.scoring import pooled_window_means

Status = Literal["ok", "error", "no_data", "approval_required"]
PROPOSAL_ID = r"^p-[0-9a-f]{8}$"
MAX_HISTORY_H = 24 * 30


class ToolResult(BaseModel):
    """The one envelope every tool returns; serialised as the tool message the model reads."""

    status: Status
    data: Any = None
    error: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    def text(self) -> str:
        """The one place a payload becomes JSON: the tool message the model reads, with
        anything secret-shaped masked."""
        plain = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(redact_data(json.loads(json.dumps(plain, default=str))))


# --- argument models ---------------------------------------------------------------------


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArgs(_Args):
    pass


class NamespaceArgs(_Args):
    namespace: Dns1123Label = Field("default", description="Kubernetes namespace")


class FitArgs(_Args):
    """Either a stored proposal, or a namespace, replicas and per-pod requests."""

    proposal_id: str | None = Field(None, pattern=PROPOSAL_ID, description="check this one")
    namespace: Dns1123Label = "default"
    replicas: int | None = Field(None, ge=1, le=1000)
    cpu_request: str | None = Field(None, description="per pod, e.g. 250m", max_length=16)
    memory_request: str | None = Field(None, description="per pod, e.g. 256Mi", max_length=16)


class SimilarArgs(_Args):
    language: Language | None = None
    framework: str | None = Field(None, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$")
    kind: Kind | None = None
    like: Dns1123Label | None = Field(None, description="an existing service to compare with")
    limit: int = Field(5, ge=1, le=20)


class WorkloadArgs(_Args):
    name: Dns1123Label
    namespace: Dns1123Label = "default"
    since_hours: float = Field(24, gt=0, le=MAX_HISTORY_H)


# A new service's size request: the tool arguments are the request model itself.
SizeArgs = SizeRequest


class MatchArgs(_Args):
    service: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
        description="how the person named a service: 'the cart service', 'cart-svc'",
    )
    namespace: Dns1123Label = "default"


class TargetArgs(_Args):
    target: str = Field(
        max_length=130,
        pattern=r"^(p-[0-9a-f]{8}|([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$",
        description="a proposal ID (p-1a2b3c4d), WORKLOAD or NAMESPACE/WORKLOAD",
    )


class ProposalArgs(_Args):
    proposal_id: str = Field(pattern=PROPOSAL_ID, description="e.g. p-1a2b3c4d")


class EditArgs(_Args):
    proposal_id: str = Field(pattern=PROPOSAL_ID)
    replicas: int | None = Field(None, ge=1, le=1000)
    cpu_request: str | None = Field(None, max_length=16)
    cpu_limit: str | None = Field(None, max_length=16, description="'none' removes the limit")
    memory_request: str | None = Field(None, max_length=16)
    memory_limit: str | None = Field(None, max_length=16, description="'none' removes it")


# --- capabilities and context ------------------------------------------------------------


@dataclass
class Capabilities:
    """What the tools may use. Anything left ``None`` makes its tools answer ``no_data``."""

    catalog: Callable[[], PeerCatalog]
    policy: Policy
    coldstart: ColdStartSettings = field(default_factory=ColdStartSettings)
    proposals: Proposals | None = None
    cluster: Cluster | None = None
    history: History | None = None


@dataclass
class Turn:
    """One conversational turn: who asks where, its budget, and what the tools did."""

    user: str
    channel: str
    thread_ts: str
    deadline: float | None = None
    max_calls: int = 16
    calls: list[tuple[str, dict[str, Any], ToolResult]] = field(default_factory=list)
    new_card: str | None = None
    changed: str | None = None
    clock: Callable[[], float] = time.monotonic
    # What the people in the thread wrote; sizing refuses a load none of them stated.
    said: str | None = None
    # This message's own text, as cleaned for reading.
    text: str = ""


@dataclass(frozen=True)
class AgentTool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, Turn], ToolResult]


# --- formatting --------------------------------------------------------------------------


def _cpu(cores: float | None) -> str | None:
    return format_cpu(cores) if cores is not None else None


def _mem(num_bytes: float | None) -> str | None:
    return format_memory(num_bytes) if num_bytes is not None else None


def proposal_data(p: ProposalView, *, detail: bool = False, **more: Any) -> ProposalPayload:
    proposed = p.proposed if p.edits else None
    return ProposalPayload(
        proposal_id=p.id,
        workload=p.workload,
        namespace=p.namespace,
        state=p.state,
        revision=p.revision,
        replicas=p.replicas,
        cpu_request=p.cpu_request,
        cpu_limit=p.cpu_limit,
        memory_request=p.memory_request,
        memory_limit=p.memory_limit,
        confidence=round(p.confidence, 2),
        image=p.image,
        language=p.language,
        does_not_fit=p.preflight or None,
        reasons=p.reasons if detail else None,
        edits=p.edits or None,
        proposed=proposed,
        **more,
    )


def unstated_load(args: SizeRequest, turn: Turn) -> str | None:
    """Why the load in ``args`` cannot be used: nobody in the thread stated it (else None)."""
    load = args.load()
    if turn.said is None or load is None:
        return None
    low, high, unit = load
    found = stated_load(turn.said)
    stated = {float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", turn.said)}
    stated |= {v * 1000 for v in stated}
    if found is not None:
        stated |= {found.low, found.high}
    if high in stated and low in stated | {0.0}:
        return None
    word = "requests" if unit == "rps" else "messages"
    if found is None:
        return (
            "nobody in this thread has stated the expected load; do not guess: ask one short "
            f"question, e.g. 'Roughly how many {word} per second will it handle?'"
        )
    return (
        f"the load {low:g}-{high:g} {word}/s is not what was said; use the stated numbers "
        f"(a single number is both low and high), e.g. {found.low:g}-{found.high:g}"
    )


def stated_load(said: str) -> Load | None:
    """The load the thread states, in the message or on any one line (answers come alone)."""
    for text, bare in ((said, False), *((line, True) for line in said.splitlines())):
        try:
            found = find_load(text, bare=bare)
        except LoadError:
            continue
        if found is not None:
            return found
    return None


# --- the tools ---------------------------------------------------------------------------


class Toolset:
    """The tools over one :class:`Capabilities`; ``call`` validates, runs and records."""

    def __init__(self, caps: Capabilities) -> None:
        self.caps = caps
        self.tools: dict[str, AgentTool] = {t.name: t for t in self._build()}

    def call(self, name: str, raw: Mapping[str, Any], turn: Turn) -> ToolResult:
        params = dict(raw)
        tool = self.tools.get(name)
        if tool is None:
            result = ToolResult(
                status="error",
                error=f"no tool {name!r}; use one of: {', '.join(self.tools)}",
                params=params,
            )
        elif len(turn.calls) >= turn.max_calls:
            result = ToolResult(
                status="error",
                error="tool call budget for this message is spent; answer with what you have",
                params=params,
            )
        elif turn.deadline is not None and turn.clock() > turn.deadline:
            result = ToolResult(
                status="error",
                error="time budget for this message is spent; answer with what you have",
                params=params,
            )
        else:
            result = self._run(tool, params, turn)
        turn.calls.append((name, params, result))
        AGENT_TOOL_CALLS.labels(name if tool is not None else "unknown", result.status).inc()
        return result

    def _run(self, tool: AgentTool, params: dict[str, Any], turn: Turn) -> ToolResult:
        try:
            args = tool.args.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            return ToolResult(status="error", error=f"invalid arguments: {problems}", params=params)
        try:
            result = tool.run(args, turn)
        except (NotFoundError, NoData) as exc:
            result = ToolResult(status="no_data", error=str(exc))
        except (Refused, KubeReadError, QuantityError, PrometheusError) as exc:
            result = ToolResult(status="error", error=str(exc))
        except (ValueError, OSError) as exc:
            result = ToolResult(status="error", error=f"{type(exc).__name__}: {exc}")
        return result.model_copy(update={"params": params})

    def _build(self) -> list[AgentTool]:
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
                "usage_history",
                "A deployed workload's per-pod CPU/memory usage over the last hours.",
                WorkloadArgs,
                self.usage_history,
            ),
            AgentTool(
                "recommend",
                "Size a new service (replicas, requests, limits, reasons) without storing it.",
                SizeArgs,
                self.recommend,
            ),
            AgentTool(
                "explain",
                "The stored reasons behind a proposal or a workload's latest proposal.",
                TargetArgs,
                self.explain,
            ),
            AgentTool(
                "render_proposal",
                "The manifest and Terraform plan summary a proposal would apply (preview).",
                ProposalArgs,
                self.render_proposal,
            ),
            AgentTool(
                "submit_proposal",
                "Size a new service and post its proposal card for a person to approve.",
                SizeArgs,
                self.submit_proposal,
            ),
            AgentTool(
                "edit_proposal",
                "Change a proposal's numbers (a new revision, approval still needed).",
                EditArgs,
                self.edit_proposal,
            ),
            AgentTool(
                "proposal_status",
                "A proposal's state, revision and history of who did what.",
                ProposalArgs,
                self.proposal_status,
            ),
            AgentTool(
                "verify_workload",
                "24 h report of a deployed workload: slack, OOM kills, throttling, verdict.",
                WorkloadArgs,
                self.verify_workload,
            ),
        ]

    # -- cluster --

    def _need_cluster(self) -> Cluster:
        if self.caps.cluster is None:
            raise NotFoundError("no cluster connection is configured (set KUBECONFIG)")
        return self.caps.cluster

    def cluster_capacity(self, args: NoArgs, turn: Turn) -> ToolResult:
        nodes = self._need_cluster().nodes()
        if not nodes:
            return ToolResult(status="no_data", error="the cluster lists no nodes")
        return ToolResult(
            status="ok",
            data=[
                {
                    "node": n.name,
                    "cpu_allocatable": _cpu(n.cpu_allocatable),
                    "cpu_requested": _cpu(n.cpu_requested),
                    "cpu_free": _cpu(n.cpu_free),
                    "memory_allocatable": _mem(n.memory_allocatable),
                    "memory_requested": _mem(n.memory_requested),
                    "memory_free": _mem(n.memory_free),
                    "pods": n.pods,
                    "unschedulable": n.unschedulable,
                }
                for n in nodes
            ],
        )

    def namespace_quotas(self, args: NamespaceArgs, turn: Turn) -> ToolResult:
        quotas = self._need_cluster().quotas(args.namespace)
        if not quotas:
            return ToolResult(status="no_data", error=f"no ResourceQuota in {args.namespace}")
        return ToolResult(
            status="ok", data=[{"quota": q.name, "hard": q.hard, "used": q.used} for q in quotas]
        )

    def list_workloads(self, args: NamespaceArgs, turn: Turn) -> ToolResult:
        found = self._need_cluster().workloads(args.namespace)
        if not found:
            return ToolResult(status="no_data", error=f"no running workloads in {args.namespace}")
        data = []
        for w in found:
            row: dict[str, Any] = {
                "workload": w.name,
                "replicas": w.replicas,
                "cpu_request": _cpu(w.cpu_request),
                "cpu_limit": _cpu(w.cpu_limit),
                "memory_request": _mem(w.memory_request),
                "memory_limit": _mem(w.memory_limit),
                "image": w.image,
            }
            if w.annotations:
                text = "\n".join(f"{k}: {v}" for k, v in w.annotations.items())
                row["annotations"] = fence(text, f"annotations of {w.namespace}/{w.name}")
            data.append(row)
        return ToolResult(status="ok", data=data)

    def check_fit(self, args: FitArgs, turn: Turn) -> ToolResult:
        cluster = self._need_cluster()
        namespace, replicas = args.namespace, args.replicas
        cpu, memory = args.cpu_request, args.memory_request
        if args.proposal_id is not None:
            p = self._desk().get(args.proposal_id)
            namespace, replicas = p.namespace, p.replicas
            cpu, memory = p.cpu_request, p.memory_request
        if replicas is None or cpu is None or memory is None:
            return ToolResult(
                status="error",
                error="give proposal_id, or replicas, cpu_request and memory_request",
            )
        fit = cluster.fit(namespace, replicas, parse_cpu(cpu), parse_memory(memory))
        return ToolResult(
            status="ok",
            data={
                "fits": fit.fits,
                "placeable_pods": fit.placeable_pods,
                "problems": list(fit.problems),
            },
        )

    # -- history and sizing --

    def _catalog(self) -> PeerCatalog:
        return self.caps.catalog()

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
        return ToolResult(
            status="ok",
            data=[
                {
                    "service": p.meta.name,
                    "language": p.meta.language,
                    "framework": p.meta.framework,
                    "kind": p.meta.kind,
                    "pods": p.pods,
                    "cpu_p95_per_pod": _cpu(p.cpu_p95),
                    "memory_p95_per_pod": _mem(p.mem_p95),
                    "rps_p95_per_pod": None if p.rps_p95 is None else round(p.rps_p95, 2),
                    "hours_of_history": round(p.hours, 1),
                }
                for _, _, p in best
            ],
            params={"source": catalog.source},
        )

    def known_services(self, namespace: str) -> tuple[list[str], dict[str, str]]:
        """Names the history and the namespace know, and images of running workloads."""
        names = list(self._catalog().names())
        images: dict[str, str] = {}
        if self.caps.cluster is not None:
            try:
                running = self.caps.cluster.workloads(namespace)
            except KubeReadError:
                running = []
            names += [w.name for w in running]
            images = {w.name: w.image for w in running if w.image}
        return names, images

    def match_service(self, args: MatchArgs, turn: Turn) -> ToolResult:
        names, _ = self.known_services(args.namespace)
        match = resolve_peer(args.service, names)
        if match.name is None and not match.choices:
            return ToolResult(status="no_data", error=f"no known service matches {args.service!r}")
        data = MatchPayload(query=match.query, name=match.name, choices=match.choices)
        return ToolResult(status="ok", data=data)

    def usage_history(self, args: WorkloadArgs, turn: Turn) -> ToolResult:
        if self.caps.history is None:
            return ToolResult(status="no_data", error="no metrics source (set PROMETHEUS_URL)")
        history = self.caps.history.usage(args.namespace, args.name, int(args.since_hours * 3600))
        if history.samples == 0:
            return ToolResult(status="no_data", error=f"no samples for {args.name}")
        cpu5 = pooled_window_means(history.pods, memory=False)
        mem5 = pooled_window_means(history.pods, memory=True)
        return ToolResult(
            status="ok",
            data={
                "workload": f"{args.namespace}/{args.name}",
                "pods": history.replicas(),
                "samples": history.samples,
                "hours": round((history.end - history.start) / 3600, 1),
                "cpu_p50_per_pod": _cpu(float(np.quantile(cpu5, 0.5))) if len(cpu5) else None,
                "cpu_p95_per_pod": _cpu(float(np.quantile(cpu5, 0.95))) if len(cpu5) else None,
                "cpu_max_per_pod": _cpu(float(history.concat("cpu").max())),
                "memory_p50_per_pod": _mem(float(np.quantile(mem5, 0.5))) if len(mem5) else None,
                "memory_p95_per_pod": _mem(float(np.quantile(mem5, 0.95))) if len(mem5) else None,
                "memory_max_per_pod": _mem(float(history.concat("memory").max())),
            },
        )

    def recommend(self, args: SizeArgs, turn: Turn) -> ToolResult:
        unsaid = unstated_load(args, turn)
        if unsaid:
            return ToolResult(status="error", error=unsaid)
        request = args
        catalog = self._catalog()
        rec = propose(request, catalog, self.caps.policy, self.caps.coldstart)
        return ToolResult(
            status="ok",
            data=SizedPayload(
                workload=request.name,
                replicas=rec.replicas,
                cpu_request=format_cpu(rec.cpu_request_cores),
                cpu_limit=_cpu(rec.cpu_limit_cores),
                memory_request=format_memory(rec.memory_request_bytes),
                memory_limit=_mem(rec.memory_limit_bytes),
                confidence=round(rec.confidence, 2),
                reasons=rec.reasons,
                notes=tuple(unknown_similar(request, catalog)),
            ),
        )

    # -- proposals --

    def _desk(self) -> Proposals:
        if self.caps.proposals is None:
            raise NotFoundError(
                "proposals cannot be stored here (no proposal service is configured)"
            )
        return self.caps.proposals

    def explain(self, args: TargetArgs, turn: Turn) -> ToolResult:
        p = self._desk().why(args.target)
        return ToolResult(status="ok", data=proposal_data(p, detail=True, applied=p.applied))

    def render_proposal(self, args: ProposalArgs, turn: Turn) -> ToolResult:
        p = self._desk().get(args.proposal_id)
        return ToolResult(
            status="ok",
            data=proposal_data(
                p, manifest_yaml=redact(p.manifest_yaml), plan_summary=redact(p.plan_summary)
            ),
        )

    def submit_proposal(self, args: SizeArgs, turn: Turn) -> ToolResult:
        unsaid = unstated_load(args, turn)
        if unsaid:
            return ToolResult(status="error", error=unsaid)
        p = self._desk().size(args, turn.user, turn.channel, turn.thread_ts)
        turn.new_card = p.id
        return ToolResult(
            status="approval_required",
            data=proposal_data(
                p,
                detail=True,
                next="a card with Approve / Edit / Reject was posted; a person must approve",
            ),
        )

    def edit_proposal(self, args: EditArgs, turn: Turn) -> ToolResult:
        changes: dict[str, str] = {}
        if args.replicas is not None:
            changes["replicas"] = str(args.replicas)
        for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
            value = getattr(args, name)
            if value is not None:
                changes[name] = "" if value.strip().lower() == "none" else value.strip()
        if not changes:
            return ToolResult(status="error", error="give at least one value to change")
        p = self._desk().edit(args.proposal_id, turn.user, changes)
        turn.changed = p.id
        return ToolResult(
            status="approval_required",
            data=proposal_data(p, next="the card now shows this revision; approve it there"),
        )

    def proposal_status(self, args: ProposalArgs, turn: Turn) -> ToolResult:
        p = self._desk().get(args.proposal_id)
        return ToolResult(
            status="ok",
            data=proposal_data(p, requester=p.requester, history=p.trail),
        )

    def verify_workload(self, args: WorkloadArgs, turn: Turn) -> ToolResult:
        if self.caps.history is None:
            return ToolResult(status="no_data", error="no metrics source (set PROMETHEUS_URL)")
        v = self.caps.history.verify(args.namespace, args.name, int(args.since_hours * 3600))
        f = v.in_force
        return ToolResult(
            status="ok",
            data={
                "workload": f"{args.namespace}/{args.name}",
                "verdict": v.verdict,
                "pods": v.pods,
                "cpu_request": _cpu(f.cpu_request_cores),
                "memory_request": _mem(f.memory_request_bytes),
                "cpu_p95": _cpu(v.cpu.p95),
                "memory_p95": _mem(v.memory.p95),
                "oom_kills": v.oom_kills,
                "restarts": v.restarts,
                "checks": [
                    {"goal": c.goal, "status": c.status, "detail": c.detail} for c in v.checks
                ],
                "notes": list(v.notes),
            },
        )
