"""Read-only cluster inspection: room on nodes, namespace quotas, workloads and their requests.

Only GETs, through a ``kubernetes`` ``ApiClient`` passed in (a test points it at an emulator).
Secret objects are never read, container environment values are never copied, and of the
annotations only short, non-sensitive ones are kept: ``last-applied-configuration`` can embed
whole manifests, Secrets included. Annotation text is still cluster-sourced and untrusted;
whoever hands it to a model must fence it as data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubernetes import client as k8s
from pydantic import BaseModel, ConfigDict

from tools.sizing.models import check_dns1123
from tools.sizing.quantities import QuantityError, parse_cpu, parse_memory

APP_LABELS = ("app.kubernetes.io/name", "app")
_SENSITIVE = ("last-applied", "secret", "token", "password", "passwd", "credential", "key")
MAX_ANNOTATION_CHARS = 256
_ACTIVE = "status.phase!=Succeeded,status.phase!=Failed"


class KubeReadError(Exception):
    """The API server could not be read; the message says which call and why."""


class NodeRoom(BaseModel):
    """Allocatable vs requested on one node (one hypervisor here), cores and bytes."""

    model_config = ConfigDict(frozen=True)

    name: str
    cpu_allocatable: float
    cpu_requested: float
    memory_allocatable: int
    memory_requested: int
    pods: int
    unschedulable: bool = False

    @property
    def cpu_free(self) -> float:
        return max(0.0, self.cpu_allocatable - self.cpu_requested)

    @property
    def memory_free(self) -> int:
        return max(0, self.memory_allocatable - self.memory_requested)


class QuotaUse(BaseModel):
    """One ResourceQuota: hard limits and current use, as the API states them."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str
    hard: dict[str, str]
    used: dict[str, str]


class WorkloadUse(BaseModel):
    """A workload seen through its running pods: replicas and per-pod requests and limits."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str
    replicas: int
    cpu_request: float
    memory_request: int
    cpu_limit: float | None = None
    memory_limit: int | None = None
    annotations: dict[str, str] = {}
    # The first container's image, so a new proposal for the same name can reuse it.
    image: str | None = None


class Fit(BaseModel):
    """Whether ``replicas`` pods of one size fit the nodes and the namespace quota."""

    model_config = ConfigDict(frozen=True)

    fits: bool
    placeable_pods: int
    problems: tuple[str, ...] = ()


def _cpu(text: Any) -> float:
    try:
        return float(parse_cpu(str(text))) if text is not None else 0.0
    except QuantityError:
        return 0.0


def _memory(text: Any) -> int:
    try:
        return int(parse_memory(str(text))) if text is not None else 0
    except QuantityError:
        return 0


def _pod_requests(pod: Any) -> tuple[float, int, float | None, int | None]:
    cpu = limit_cpu = 0.0
    memory = limit_memory = 0
    no_cpu_limit = no_memory_limit = False
    for container in pod.spec.containers or []:
        res = container.resources
        requests = (res.requests if res else None) or {}
        limits = (res.limits if res else None) or {}
        cpu += _cpu(requests.get("cpu"))
        memory += _memory(requests.get("memory"))
        if "cpu" in limits:
            limit_cpu += _cpu(limits["cpu"])
        else:
            no_cpu_limit = True
        if "memory" in limits:
            limit_memory += _memory(limits["memory"])
        else:
            no_memory_limit = True
    return (
        cpu,
        memory,
        None if no_cpu_limit else limit_cpu,
        None if no_memory_limit else limit_memory,
    )


def safe_annotations(annotations: dict[str, str] | None) -> dict[str, str]:
    """Annotations minus anything that can carry manifests or credentials, each shortened."""
    kept = {}
    for key, value in sorted((annotations or {}).items()):
        if any(word in key.lower() for word in _SENSITIVE):
            continue
        kept[key] = value[:MAX_ANNOTATION_CHARS]
    return kept


def _workload_name(pod: Any) -> str:
    labels = pod.metadata.labels or {}
    for label in APP_LABELS:
        if labels.get(label):
            return str(labels[label])
    return str(pod.metadata.name)


class KubeReader:
    """GET-only views of the cluster for sizing decisions."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self._core = k8s.CoreV1Api(api_client)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except k8s.ApiException as exc:
            raise KubeReadError(f"{what}: HTTP {exc.status} {exc.reason}") from None
        except Exception as exc:  # connection refused, TLS, timeouts: all "cannot read"
            raise KubeReadError(f"{what}: {type(exc).__name__}: {exc}") from None

    def nodes(self) -> list[NodeRoom]:
        """Each node's allocatable CPU and memory against the requests of pods placed on it."""
        nodes = self._call("list nodes", self._core.list_node).items
        pods = self._call(
            "list pods",
            self._core.list_pod_for_all_namespaces,
            field_selector=_ACTIVE,
        ).items
        cpu: dict[str, float] = defaultdict(float)
        memory: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        for pod in pods:
            node = pod.spec.node_name
            if not node:
                continue
            c, m, _, _ = _pod_requests(pod)
            cpu[node] += c
            memory[node] += m
            count[node] += 1
        out = []
        for node in nodes:
            name = node.metadata.name
            allocatable = (node.status.allocatable if node.status else None) or {}
            out.append(
                NodeRoom(
                    name=name,
                    cpu_allocatable=_cpu(allocatable.get("cpu")),
                    cpu_requested=round(cpu[name], 6),
                    memory_allocatable=_memory(allocatable.get("memory")),
                    memory_requested=memory[name],
                    pods=count[name],
                    unschedulable=bool(node.spec and node.spec.unschedulable),
                )
            )
        return out

    def quotas(self, namespace: str) -> list[QuotaUse]:
        check_dns1123(namespace)
        items = self._call(
            f"list resource quotas in {namespace}",
            self._core.list_namespaced_resource_quota,
            namespace,
        ).items
        return [
            QuotaUse(
                name=q.metadata.name,
                namespace=namespace,
                hard=dict((q.status.hard if q.status else None) or q.spec.hard or {}),
                used=dict((q.status.used if q.status else None) or {}),
            )
            for q in items
        ]

    def workloads(self, namespace: str) -> list[WorkloadUse]:
        """Running pods grouped by their app label; requests are per pod (the largest seen)."""
        check_dns1123(namespace)
        pods = self._call(
            f"list pods in {namespace}",
            self._core.list_namespaced_pod,
            namespace,
            field_selector=_ACTIVE,
        ).items
        groups: dict[str, list[Any]] = defaultdict(list)
        for pod in pods:
            groups[_workload_name(pod)].append(pod)
        out = []
        for name, members in sorted(groups.items()):
            sizes = [_pod_requests(p) for p in members]
            cpu_limits = [s[2] for s in sizes]
            memory_limits = [s[3] for s in sizes]
            out.append(
                WorkloadUse(
                    name=name,
                    namespace=namespace,
                    replicas=len(members),
                    cpu_request=max(s[0] for s in sizes),
                    memory_request=max(s[1] for s in sizes),
                    cpu_limit=None if None in cpu_limits else max(c or 0.0 for c in cpu_limits),
                    memory_limit=(
                        None if None in memory_limits else max(m or 0 for m in memory_limits)
                    ),
                    annotations=safe_annotations(members[0].metadata.annotations),
                    image=_first_image(members[0]),
                )
            )
        return out

    def fit(self, namespace: str, replicas: int, cpu_request: float, memory_request: int) -> Fit:
        """Whether the pods fit the free room on schedulable nodes and the namespace quota."""
        return check_fit(
            self.nodes(), self.quotas(namespace), replicas, cpu_request, memory_request
        )


def check_fit(
    nodes: list[NodeRoom],
    quotas: list[QuotaUse],
    replicas: int,
    cpu_request: float,
    memory_request: int,
) -> Fit:
    """Pods placed greedily on the node with most room; then each quota's requests.* hard."""
    problems = []
    room = [[n.cpu_free, n.memory_free] for n in nodes if not n.unschedulable]
    placed = 0
    for _ in range(replicas):
        room.sort(key=lambda r: (r[0], r[1]), reverse=True)
        target = next((r for r in room if r[0] >= cpu_request and r[1] >= memory_request), None)
        if target is None:
            break
        target[0] -= cpu_request
        target[1] -= memory_request
        placed += 1
    if placed < replicas:
        problems.append(f"only {placed} of {replicas} pods fit the free room on schedulable nodes")
    for quota in quotas:
        for resource, need, parse in (
            ("requests.cpu", cpu_request * replicas, _cpu),
            ("requests.memory", float(memory_request * replicas), _memory),
            ("cpu", cpu_request * replicas, _cpu),
            ("memory", float(memory_request * replicas), _memory),
        ):
            if resource not in quota.hard:
                continue
            free = parse(quota.hard[resource]) - parse(quota.used.get(resource, "0"))
            if need > free:
                problems.append(
                    f"quota {quota.name} {resource}: needs {need:g}, {max(free, 0):g} left"
                )
    return Fit(fits=not problems, placeable_pods=placed, problems=tuple(problems))


def _first_image(pod: Any) -> str | None:
    containers = (pod.spec.containers if pod.spec else None) or []
    image = getattr(containers[0], "image", None) if containers else None
    return str(image) if image else None
