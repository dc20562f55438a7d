"""Will the workload fit? The namespace quota and the nodes' allocatable, before any change.

Each problem is one sentence saying what does not fit and by how much, for the card. Demand is
per pod (sum of its containers' requests and limits) times the replicas, plus the one surge pod
a Deployment's rolling update adds; what the workload already uses is credited back, since its
old pods go away. Node fit places replicas one by one on schedulable nodes, spreading them the
way the topology constraint does, and names each node's shortfall when one does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from bot.executors.base import FitReport
from bot.executors.kubernetes import KubeApi
from tools.sizing.quantities import QuantityError, format_cpu, format_memory, parse_quantity

__all__ = [
    "Demand",
    "assess",
    "check_nodes",
    "check_quota",
    "demand_of",
    "most_replicas",
    "preflight",
]

_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class Demand:
    """What one workload asks for: per pod, and how many pods."""

    pods: int
    surge: int
    cpu_request: Fraction
    memory_request: Fraction
    cpu_limit: Fraction
    memory_limit: Fraction
    storage: Fraction
    labels: dict[str, str]


def _q(value: Any) -> Fraction:
    try:
        return parse_quantity(str(value))
    except QuantityError:
        return Fraction(0)


def _fmt(resource: str, amount: Fraction) -> str:
    if resource.endswith("cpu") or resource == "cpu":
        return format_cpu(float(amount))
    if resource in ("pods", "count/pods", "persistentvolumeclaims"):
        return str(int(amount))
    return format_memory(float(amount))


def demand_of(workload: dict[str, Any], replicas_hint: int | None = None) -> Demand:
    spec = workload.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    totals = {"rc": Fraction(0), "rm": Fraction(0), "lc": Fraction(0), "lm": Fraction(0)}
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        totals["rc"] += _q(requests.get("cpu", 0))
        totals["rm"] += _q(requests.get("memory", 0))
        totals["lc"] += _q(limits.get("cpu", 0))
        totals["lm"] += _q(limits.get("memory", 0))
    storage = sum(
        (
            _q(((t.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", 0))
            for t in spec.get("volumeClaimTemplates") or []
        ),
        Fraction(0),
    )
    pods = int(spec.get("replicas", replicas_hint or 1))
    surge = 1 if workload.get("kind") == "Deployment" else 0
    return Demand(
        pods=pods,
        surge=surge,
        cpu_request=totals["rc"],
        memory_request=totals["rm"],
        cpu_limit=totals["lc"],
        memory_limit=totals["lm"],
        storage=storage,
        labels=dict((spec.get("selector") or {}).get("matchLabels") or {}),
    )


def _quota_needs(new: Demand, old: Demand | None) -> dict[str, Fraction]:
    """Extra quota the apply consumes at its peak, per quota resource name."""

    def total(d: Demand | None, per_pod: str, surge: bool) -> Fraction:
        if d is None:
            return Fraction(0)
        count = d.pods + (d.surge if surge else 0)
        value: Fraction = getattr(d, per_pod)
        return value * count

    needs: dict[str, Fraction] = {}
    for names, attr in (
        (("requests.cpu", "cpu"), "cpu_request"),
        (("requests.memory", "memory"), "memory_request"),
        (("limits.cpu",), "cpu_limit"),
        (("limits.memory",), "memory_limit"),
    ):
        extra = total(new, attr, True) - total(old, attr, False)
        for name in names:
            needs[name] = extra
    needs["pods"] = needs["count/pods"] = Fraction(new.pods + new.surge - (old.pods if old else 0))
    storage_new = new.storage * new.pods
    storage_old = old.storage * old.pods if old else Fraction(0)
    needs["requests.storage"] = storage_new - storage_old
    return needs


def check_quota(quotas: list[dict[str, Any]], new: Demand, old: Demand | None = None) -> list[str]:
    problems: list[str] = []
    needs = _quota_needs(new, old)
    for quota in quotas:
        name = quota.get("metadata", {}).get("name", "?")
        status = quota.get("status") or {}
        hard = _hard_of(quota)
        used = status.get("used") or {}
        for resource, limit in hard.items():
            need = needs.get(resource)
            if need is None or need <= 0:
                continue
            free = _q(limit) - _q(used.get(resource, 0))
            if need > free:
                problems.append(
                    f"quota {name}: {resource} needs {_fmt(resource, need)} more, "
                    f"{_fmt(resource, max(free, Fraction(0)))} free "
                    f"(short by {_fmt(resource, need - free)})"
                )
    return problems


def _schedulable(node: dict[str, Any]) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    taints = (node.get("spec") or {}).get("taints") or []
    return not any(t.get("effect") in ("NoSchedule", "NoExecute") for t in taints)


def _pod_requests(pod: dict[str, Any]) -> tuple[Fraction, Fraction]:
    cpu, memory = Fraction(0), Fraction(0)
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += _q(requests.get("cpu", 0))
        memory += _q(requests.get("memory", 0))
    return cpu, memory


def _is_own(pod: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    meta = pod.get("metadata") or {}
    pod_labels = meta.get("labels") or {}
    return meta.get("namespace") == namespace and all(
        pod_labels.get(k) == v for k, v in labels.items()
    )


def check_nodes(
    nodes: list[dict[str, Any]], pods: list[dict[str, Any]], new: Demand, namespace: str
) -> list[str]:
    """Place every replica (and the surge pod); report each node's shortfall when one fails."""
    free: dict[str, list[Fraction]] = {}
    for node in nodes:
        if not _schedulable(node):
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        free[node["metadata"]["name"]] = [
            _q(allocatable.get("cpu", 0)),
            _q(allocatable.get("memory", 0)),
        ]
    if not free:
        return ["no schedulable node"]
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if node_name not in free or phase in ("Succeeded", "Failed"):
            continue
        if _is_own(pod, namespace, new.labels):
            continue
        cpu, memory = _pod_requests(pod)
        free[node_name][0] -= cpu
        free[node_name][1] -= memory
    placed = dict.fromkeys(free, 0)
    total = new.pods + new.surge
    for index in range(total):
        fits = [
            n
            for n, (cpu, memory) in free.items()
            if cpu >= new.cpu_request and memory >= new.memory_request
        ]
        if not fits:
            shortfalls = []
            for n, (cpu, memory) in sorted(free.items()):
                parts = []
                if cpu < new.cpu_request:
                    parts.append(f"cpu short by {format_cpu(float(new.cpu_request - cpu))}")
                if memory < new.memory_request:
                    parts.append(
                        f"memory short by {format_memory(float(new.memory_request - memory))}"
                    )
                shortfalls.append(f"{n}: {', '.join(parts)}")
            return [
                f"pod {index + 1} of {total} does not fit any node (each needs "
                f"{format_cpu(float(new.cpu_request))} cpu, "
                f"{format_memory(float(new.memory_request))} memory); " + "; ".join(shortfalls)
            ]
        target = min(fits, key=lambda n: (placed[n], -free[n][0], n))
        placed[target] += 1
        free[target][0] -= new.cpu_request
        free[target][1] -= new.memory_request
    return []


def most_replicas(
    quotas: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    new: Demand,
    old: Demand | None,
    namespace: str,
) -> int:
    """The most replicas of this pod size that fit the quota and the nodes (0: not even one).

    Fit only gets harder with more replicas, so a binary search over 0..pods is exact.
    """

    def fits(count: int) -> bool:
        demand = replace(new, pods=count)
        return not check_quota(quotas, demand, old) and not check_nodes(
            nodes, pods, demand, namespace
        )

    low, high = 0, new.pods
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _hard_of(quota: dict[str, Any]) -> dict[str, Any]:
    hard: dict[str, Any] = (
        (quota.get("status") or {}).get("hard") or (quota.get("spec") or {}).get("hard") or {}
    )
    return hard


def _hard(quotas: list[dict[str, Any]], *names: str) -> Fraction | None:
    """The tightest hard limit any quota sets on one of ``names``."""
    found = [
        _q(hard[name])
        for hard in (_hard_of(quota) for quota in quotas)
        for name in names
        if name in hard
    ]
    return min(found) if found else None


def _allocatable(nodes: list[dict[str, Any]], resource: str) -> Fraction | None:
    values = [
        _q(((n.get("status") or {}).get("allocatable") or {}).get(resource, 0))
        for n in nodes
        if _schedulable(n)
    ]
    return sum(values, Fraction(0)) if values else None


def _float(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def assess(kube: KubeApi, docs: list[dict[str, Any]]) -> tuple[list[str], FitReport | None]:
    """Every reason the workload would not fit, and the room there is (for the card)."""
    workload = next((d for d in docs if d.get("kind") in _WORKLOAD_KINDS), None)
    if workload is None:
        return [], None
    namespace = workload["metadata"]["namespace"]
    hpa = next((d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"), None)
    hint = int((hpa or {}).get("spec", {}).get("minReplicas", 1)) if hpa else None
    new = demand_of(workload, hint)
    live = kube.get(workload)
    old = demand_of(live) if live is not None else None
    quotas = kube.resource_quotas(namespace)
    problems = check_quota(quotas, new, old)
    pods = kube.pods(field_selector="status.phase!=Succeeded,status.phase!=Failed")
    nodes = kube.nodes()
    problems += check_nodes(nodes, pods, new, namespace)
    report = FitReport(
        max_replicas=most_replicas(quotas, nodes, pods, new, old, namespace) if problems else None,
        quota_cpu=_float(_hard(quotas, "requests.cpu", "cpu")),
        quota_memory=_float(_hard(quotas, "requests.memory", "memory")),
        cluster_cpu=_float(_allocatable(nodes, "cpu")),
        cluster_memory=_float(_allocatable(nodes, "memory")),
    )
    return problems, report


def preflight(kube: KubeApi, docs: list[dict[str, Any]]) -> list[str]:
    """Every reason the manifest's workload would not fit; empty when it fits."""
    return assess(kube, docs)[0]
