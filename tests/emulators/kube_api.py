"""An HTTP emulator of the few Kubernetes API endpoints Sizer uses, for the real client.

No API server can run here, so this one serves, over real HTTP to the unmodified
``kubernetes`` client: ``/version``; nodes, namespaces, resource quotas and pods (list, and
watch with a label selector); and GET / PATCH (server-side apply, ``dryRun=All`` honoured) /
DELETE for Deployments, StatefulSets, Services, PodDisruptionBudgets and HPAs. Every applied
object is validated against the official schemas (``kubernetes-validate``) and rejected with a
422 ``Invalid`` Status the way the API server does.

Rollouts are scripted per workload: after an apply changes the pod template, the controller
here creates the new revision's pods and, after ``step_s``, moves them to the scripted outcome:
``ready``, ``oom`` (OOMKilled, restarting), ``crashloop`` (CrashLoopBackOff) or ``never``
(running, never ready; the rollout times out).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import yaml
from kubernetes import client as k8s

from tests.emulators.loopback import serve, shutdown, url_of

Obj = dict[str, Any]

_KINDS = {
    ("apps", "v1", "deployments"): "Deployment",
    ("apps", "v1", "statefulsets"): "StatefulSet",
    ("", "v1", "services"): "Service",
    ("policy", "v1", "poddisruptionbudgets"): "PodDisruptionBudget",
    ("autoscaling", "v2", "horizontalpodautoscalers"): "HorizontalPodAutoscaler",
}
_OBJECT = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[a-z.]+)/(?P<version>v\d+))"
    r"/namespaces/(?P<ns>[a-z0-9-]+)/(?P<plural>[a-z]+)/(?P<name>[a-z0-9-]+)$"
)
OUTCOMES = ("ready", "oom", "crashloop", "never")


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _match(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class KubeEmulator:
    """State plus a threaded HTTP server; ``configuration()`` points a real client at it."""

    def __init__(self, kubernetes_version: str = "1.31", step_s: float = 0.2) -> None:
        self.kubernetes_version = kubernetes_version
        self.step_s = step_s
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], Obj] = {}  # (plural, ns, name)
        self.namespaces: dict[str, Obj] = {}
        self.nodes: list[Obj] = []
        self.quotas: dict[str, list[Obj]] = {}
        self.pods: dict[tuple[str, str], Obj] = {}
        self.other_pods: list[Obj] = []
        self.outcomes: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.fail_apply: set[str] = set()  # kinds whose real (non-dry-run) apply returns 500
        self._server: ThreadingHTTPServer | None = None
        self.last_authorization: str | None = None

    # --- setup -----------------------------------------------------------------------------

    def add_namespace(self, name: str, annotations: dict[str, str] | None = None) -> None:
        self.namespaces[name] = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "annotations": annotations or {}, "uid": str(uuid.uuid4())},
            "status": {"phase": "Active"},
        }

    def add_node(self, name: str, cpu: str, memory: str, **spec: Any) -> None:
        self.nodes.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                "spec": spec,
                "status": {
                    "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                    "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                },
            }
        )

    def add_quota(
        self, namespace: str, name: str, hard: dict[str, str], used: dict[str, str]
    ) -> None:
        self.quotas.setdefault(namespace, []).append(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"hard": hard},
                "status": {"hard": hard, "used": used},
            }
        )

    def add_running_pod(self, namespace: str, name: str, node: str, cpu: str, memory: str) -> None:
        """A pod of someone else's, using room on a node."""
        self.other_pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
                "spec": {
                    "nodeName": node,
                    "containers": [
                        {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}
                    ],
                },
                "status": {"phase": "Running"},
            }
        )

    def script(self, workload: str, outcome: str) -> None:
        """How the next rollout of ``workload`` ends; later ones (a rollback) become ready."""
        assert outcome in OUTCOMES, outcome
        self.outcomes[workload] = outcome

    def seed(self, obj: Obj) -> Obj:
        """Store an object as if applied earlier, rolled out and ready."""
        with self.lock:
            stored = self._store(copy.deepcopy(obj), manager="before", scripted=False)
            self._tick(force=True)
            return stored

    # --- server ----------------------------------------------------------------------------

    def start(self) -> str:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                emulator._handle(self, "GET")

            def do_PATCH(self) -> None:
                emulator._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                emulator._handle(self, "DELETE")

        self._server = serve(Handler)
        return self.url

    @property
    def url(self) -> str:
        return url_of(self._server)

    def stop(self) -> None:
        shutdown(self._server)

    def configuration(self) -> k8s.Configuration:
        configuration = k8s.Configuration()
        configuration.host = self.url
        return configuration

    def write_kubeconfig(self, path: Path, token: str = "t0ken") -> Path:
        """A kubeconfig file for this server, as a user of the real cluster would have."""
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emu", "cluster": {"server": self.url}}],
                    "users": [{"name": "sizer", "user": {"token": token}}],
                    "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "sizer"}}],
                    "current-context": "emu",
                }
            )
        )
        return path

    # --- request handling ------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        self.requests.append((method, parts.path, query))
        self.last_authorization = handler.headers.get("Authorization")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            if method == "GET" and query.get("watch") == ["true"]:
                self._watch(handler, parts.path, query)
                return
            code, payload = self._route(method, parts.path, query, body, handler.headers)
        except Exception as exc:  # the emulator must answer, whatever went wrong
            code, payload = 500, _status(500, "InternalError", f"{type(exc).__name__}: {exc}")
        data = json.dumps(payload).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any
    ) -> tuple[int, Obj]:
        with self.lock:
            self._tick()
            if path == "/version":
                major, minor = self.kubernetes_version.split(".")
                return 200, {"major": major, "minor": minor, "gitVersion": f"v{major}.{minor}.0"}
            if path == "/api/v1/nodes":
                return 200, {"kind": "NodeList", "apiVersion": "v1", "items": self.nodes}
            if path == "/api/v1/pods":
                return 200, self._pod_list(None, query)
            match = re.fullmatch(r"/api/v1/namespaces/([a-z0-9-]+)(?:/(\w+))?", path)
            if match and method == "GET":
                ns, sub = match.groups()
                if sub is None:
                    if ns in self.namespaces:
                        return 200, self.namespaces[ns]
                    return 404, _status(404, "NotFound", f'namespaces "{ns}" not found')
                if sub == "resourcequotas":
                    items = self.quotas.get(ns, [])
                    return 200, {"kind": "ResourceQuotaList", "apiVersion": "v1", "items": items}
                if sub == "pods":
                    return 200, self._pod_list(ns, query)
            match = _OBJECT.match(path)
            if match:
                return self._object(method, match, query, body, headers)
            return 404, _status(404, "NotFound", f"the emulator does not serve {method} {path}")

    def _object(
        self,
        method: str,
        match: re.Match[str],
        query: dict[str, list[str]],
        body: bytes,
        headers: Any,
    ) -> tuple[int, Obj]:
        group = match["group"] or ""
        version = match["core"] or match["version"]
        plural, ns, name = match["plural"], match["ns"], match["name"]
        kind = _KINDS.get((group, version, plural))
        if kind is None:
            return 404, _status(404, "NotFound", f"no resource {plural} in {group}/{version}")
        key = (plural, ns, name)
        if method == "GET":
            obj = self.objects.get(key)
            if obj is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            return 200, self._public(obj)
        if method == "DELETE":
            if self.objects.pop(key, None) is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            for pod_key in [k for k, p in self.pods.items() if p["_owner"] == key]:
                del self.pods[pod_key]
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        if method != "PATCH":
            return 405, _status(405, "MethodNotAllowed", method)
        if headers.get("Content-Type") != "application/apply-patch+yaml":
            return 415, _status(415, "UnsupportedMediaType", "only server-side apply is served")
        managers = query.get("fieldManager")
        if not managers:
            return 422, _status(422, "Invalid", "fieldManager is required for apply requests")
        obj = yaml.safe_load(body)
        expected_api = f"{group}/{version}" if group else version
        if obj.get("kind") != kind or obj.get("apiVersion") != expected_api:
            return 400, _status(400, "BadRequest", "kind or apiVersion does not match the URL")
        meta = obj.get("metadata") or {}
        if meta.get("name") != name or meta.get("namespace", ns) != ns:
            return 400, _status(400, "BadRequest", "name or namespace does not match the URL")
        if ns not in self.namespaces:
            return 404, _status(404, "NotFound", f'namespaces "{ns}" not found')
        try:
            kubernetes_validate.validate(obj, self.kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            message = f'{kind}.{expected_api} "{name}" is invalid: {where}: {exc.message}'
            return 422, _status(422, "Invalid", message)
        dry_run = query.get("dryRun") == ["All"]
        if not dry_run and kind in self.fail_apply:
            return 500, _status(500, "InternalError", f"scripted failure applying {kind} {name}")
        current = self.objects.get(key)
        if current is not None and "force" not in query and current["_manager"] != managers[0]:
            return 409, _status(409, "Conflict", "Apply failed with 1 conflict")
        if dry_run:
            return 200, self._public(self._merged(obj, current, managers[0]))
        return 200, self._public(self._store(obj, managers[0]))

    # --- objects and the controller --------------------------------------------------------

    def _merged(self, obj: Obj, current: Obj | None, manager: str) -> Obj:
        merged = copy.deepcopy(obj)
        meta = merged.setdefault("metadata", {})
        old_meta = (current or {}).get("metadata", {})
        meta["uid"] = old_meta.get("uid", str(uuid.uuid4()))
        meta["creationTimestamp"] = old_meta.get("creationTimestamp", _now())
        generation = old_meta.get("generation", 0)
        changed = current is None or current.get("spec") != merged.get("spec")
        meta["generation"] = generation + 1 if changed else generation
        meta["resourceVersion"] = str(int(old_meta.get("resourceVersion", "0")) + 1)
        meta["managedFields"] = [{"manager": manager, "operation": "Apply", "time": _now()}]
        merged["status"] = copy.deepcopy((current or {}).get("status", {}))
        merged["_manager"] = manager
        if current is not None and "_hash" in current:
            merged["_hash"] = current["_hash"]
        return merged

    def _store(self, obj: Obj, manager: str, scripted: bool = True) -> Obj:
        plural = {v: k for k, v in _KINDS.items()}[obj["kind"]][2]
        key = (plural, obj["metadata"]["namespace"], obj["metadata"]["name"])
        current = self.objects.get(key)
        merged = self._merged(obj, current, manager)
        self.objects[key] = merged
        if obj["kind"] in ("Deployment", "StatefulSet"):
            old_template = (current or {}).get("spec", {}).get("template")
            if old_template != merged["spec"]["template"] or current is None:
                self._roll(key, merged, scripted)
        return merged

    def _roll(self, key: tuple[str, str, str], workload: Obj, scripted: bool) -> None:
        """The controller's part: new pods for the new template; old ones go when new are ready."""
        outcome = self.outcomes.pop(workload["metadata"]["name"], "ready") if scripted else "ready"
        template = workload["spec"]["template"]
        hash_ = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:8]
        name, ns = workload["metadata"]["name"], workload["metadata"]["namespace"]
        for index in range(int(workload["spec"].get("replicas", 1))):
            pod_name = f"{name}-{hash_}-{index}"
            self.pods[(ns, pod_name)] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": ns,
                    "labels": dict(template["metadata"].get("labels") or {}),
                    "annotations": dict(template["metadata"].get("annotations") or {}),
                    "resourceVersion": "1",
                },
                "spec": copy.deepcopy(template["spec"]) | {"nodeName": self._node_for(index)},
                "status": {"phase": "Pending"},
                "_owner": key,
                "_hash": hash_,
                "_born": time.monotonic(),
                "_stage": "pending",
                "_outcome": outcome,
            }
        workload["_hash"] = hash_
        workload["status"] = {
            "observedGeneration": workload["metadata"]["generation"],
            "replicas": workload["status"].get("readyReplicas", 0)
            + int(workload["spec"].get("replicas", 1)),
            "updatedReplicas": int(workload["spec"].get("replicas", 1)),
            "readyReplicas": workload["status"].get("readyReplicas", 0),
            "availableReplicas": workload["status"].get("availableReplicas", 0),
            "currentRevision": workload["status"].get("currentRevision", hash_),
            "updateRevision": hash_,
        }

    def _node_for(self, index: int) -> str:
        names = [node["metadata"]["name"] for node in self.nodes] or ["node-0"]
        return str(names[index % len(names)])

    def _tick(self, force: bool = False) -> None:
        """Advance every pod whose scripted step time has come, and the workloads' status."""
        changed = set()
        for pod in self.pods.values():
            if pod["_stage"] != "pending":
                continue
            if not force and time.monotonic() - pod["_born"] < self.step_s:
                continue
            outcome = pod["_outcome"] if not force else "ready"
            pod["_stage"] = outcome
            pod["metadata"]["resourceVersion"] = "2"
            pod["status"] = self._pod_status(pod["spec"]["containers"][0]["name"], outcome)
            changed.add(pod["_owner"])
        for key in changed:
            workload = self.objects.get(key)
            if workload is None:
                continue
            mine = [
                p
                for p in self.pods.values()
                if p["_owner"] == key and p["_hash"] == workload["_hash"]
            ]
            ready = sum(1 for p in mine if p["_stage"] == "ready")
            want = int(workload["spec"].get("replicas", 1))
            status = workload["status"]
            if ready >= want:
                for pod_key in [
                    k
                    for k, p in self.pods.items()
                    if p["_owner"] == key and p["_hash"] != workload["_hash"]
                ]:
                    del self.pods[pod_key]
                status.update(
                    replicas=want,
                    readyReplicas=want,
                    availableReplicas=want,
                    currentRevision=workload["_hash"],
                )

    @staticmethod
    def _pod_status(container: str, outcome: str) -> Obj:
        running = {"running": {"startedAt": _now()}}
        cs: Obj = {
            "name": container,
            "ready": outcome == "ready",
            "restartCount": 0,
            "state": running,
        }
        if outcome == "oom":
            cs["restartCount"] = 1
            cs["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
        elif outcome == "crashloop":
            cs["restartCount"] = 3
            cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
            cs["lastState"] = {"terminated": {"reason": "Error", "exitCode": 1}}
        return {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if outcome == "ready" else "False"}],
            "containerStatuses": [cs],
        }

    # --- pods: list and watch --------------------------------------------------------------

    @staticmethod
    def _public(obj: Obj) -> Obj:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _select(self, ns: str | None, query: dict[str, list[str]]) -> list[Obj]:
        selector = (query.get("labelSelector") or [""])[0]
        fields = (query.get("fieldSelector") or [""])[0]
        pods = [self._public(p) for p in self.pods.values()] + self.other_pods
        out = []
        for pod in pods:
            if ns is not None and pod["metadata"]["namespace"] != ns:
                continue
            if not _match(pod["metadata"].get("labels") or {}, selector):
                continue
            phase = pod.get("status", {}).get("phase")
            if f"status.phase!={phase}" in fields:
                continue
            out.append(pod)
        return out

    def _pod_list(self, ns: str | None, query: dict[str, list[str]]) -> Obj:
        return {"kind": "PodList", "apiVersion": "v1", "items": self._select(ns, query)}

    def _watch(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]
    ) -> None:
        match = re.fullmatch(r"/api/v1/namespaces/([a-z0-9-]+)/pods", path)
        if not match:
            handler.send_error(404)
            return
        ns = match[1]
        timeout = float((query.get("timeoutSeconds") or ["5"])[0])
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        seen: dict[str, str] = {}
        deadline = time.monotonic() + timeout

        def send(kind: str, obj: Obj) -> None:
            # One chunk per event, as the API server streams them.
            line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            handler.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")

        try:
            while time.monotonic() < deadline:
                with self.lock:
                    self._tick()
                    pods = self._select(ns, query)
                for pod in pods:
                    name, version = (
                        pod["metadata"]["name"],
                        pod["metadata"].get("resourceVersion", ""),
                    )
                    if seen.get(name) != version:
                        send("ADDED" if name not in seen else "MODIFIED", pod)
                        seen[name] = version
                handler.wfile.flush()
                time.sleep(0.05)
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
