"""The few Kubernetes API calls the executors make, and apply / snapshot / rollback on them.

Objects go to the API server by server-side apply (``PATCH`` with
``application/apply-patch+yaml``, ``fieldManager``, ``force``), always after the same request
with ``dryRun=All`` has passed for every object. Requests go through the official client's
``ApiClient`` (auth, TLS, proxies from a kubeconfig or a ``Configuration`` passed in), with
plain dicts in and out so what is applied is exactly the stored manifest.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.executors.base import Progress
from bot.executors.errors import StepFailed
from bot.executors.validate import object_ref

__all__ = ["KubeApi", "collection_path", "rollback", "sanitize_live"]

_COLLECTIONS = {
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{ns}/deployments",
    ("apps/v1", "StatefulSet"): "/apis/apps/v1/namespaces/{ns}/statefulsets",
    ("v1", "Service"): "/api/v1/namespaces/{ns}/services",
    ("policy/v1", "PodDisruptionBudget"): "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): (
        "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
    ),
}
# Server-owned metadata that must not travel back in a rollback apply.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)
_SERVER_ANNOTATIONS = ("deployment.kubernetes.io/revision",)


def collection_path(obj: dict[str, Any]) -> str:
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in _COLLECTIONS:
        raise StepFailed("apply", f"{key[1]} ({key[0]}) is not a kind the executor applies")
    namespace = obj["metadata"]["namespace"]
    return _COLLECTIONS[key].format(ns=namespace)


def object_path(obj: dict[str, Any]) -> str:
    return f"{collection_path(obj)}/{obj['metadata']['name']}"


class KubeApi:
    """Dict-in, dict-out access to the endpoints Sizer uses, on the official client."""

    def __init__(self, api_client: k8s.ApiClient, *, field_manager: str = "sizer") -> None:
        self.api_client = api_client
        self.field_manager = field_manager

    @classmethod
    def from_configuration(
        cls, configuration: k8s.Configuration, *, field_manager: str = "sizer"
    ) -> KubeApi:
        return cls(k8s.ApiClient(configuration), field_manager=field_manager)

    @classmethod
    def from_kubeconfig(
        cls, path: Path | None, *, field_manager: str = "sizer", context: str | None = None
    ) -> KubeApi:
        """From a kubeconfig file (and context), or the in-cluster service account."""
        if context is not None:
            api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(path) if path else None, context=context
            )
            return cls(api, field_manager=field_manager)
        if path is None:
            configuration = k8s.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return cls.from_configuration(configuration, field_manager=field_manager)
        api_client = k8s_config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
        return cls(api_client, field_manager=field_manager)

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | tuple[float, float] | None = 30.0,
    ) -> k8s.rest.RESTResponse:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = self.api_client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.api_client.call_api(*request, _request_timeout=timeout)

    def _json(
        self, method: str, path: str, *, missing_ok: bool = True, **kwargs: Any
    ) -> dict[str, Any] | None:
        """The decoded body; None for 404 when ``missing_ok``; other errors raise ApiException."""
        response = self._send(method, path, **kwargs)
        data = response.read()  # type: ignore[no-untyped-call]
        if response.status == 404 and missing_ok:
            return None
        if not 200 <= response.status <= 299:
            raise k8s.ApiException.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        result: dict[str, Any] = json.loads(data) if data else {}
        return result

    # objects of the manifest

    def apply(self, obj: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        query = [("fieldManager", self.field_manager), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        result = self._json(
            "PATCH",
            object_path(obj),
            missing_ok=False,
            query=query,
            body=obj,
            content_type="application/apply-patch+yaml",
        )
        return result or {}

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        return self._json("GET", object_path(obj))

    def delete(self, obj: dict[str, Any]) -> None:
        self._json("DELETE", object_path(obj), query=[("propagationPolicy", "Foreground")])

    # cluster reads for the pre-flight and the rollout

    def namespace(self, name: str) -> dict[str, Any] | None:
        return self._json("GET", f"/api/v1/namespaces/{name}")

    def nodes(self) -> list[dict[str, Any]]:
        return self._items("/api/v1/nodes")

    def resource_quotas(self, namespace: str) -> list[dict[str, Any]]:
        return self._items(f"/api/v1/namespaces/{namespace}/resourcequotas")

    def pods(
        self,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        return self._items(path, query)

    def _items(self, path: str, query: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        result = self._json("GET", path, query=query)
        return list((result or {}).get("items") or [])

    def watch_pods(
        self, namespace: str, label_selector: str, timeout_s: int
    ) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """Pod events until the server ends the watch after ``timeout_s``."""
        query = [
            ("labelSelector", label_selector),
            ("watch", "true"),
            ("timeoutSeconds", str(timeout_s)),
        ]
        response = self._send(
            "GET", f"/api/v1/namespaces/{namespace}/pods", query=query, timeout=(5, timeout_s + 5)
        )
        if response.status != 200:
            data = response.read()  # type: ignore[no-untyped-call]
            raise k8s.ApiException.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        buffer = b""
        try:
            for chunk in response.response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        yield event.get("type", ""), event.get("object") or {}
        finally:
            # An unfinished watch cannot go back to the pool: close its connection.
            response.response.close()
            response.response.release_conn()


def sanitize_live(live: dict[str, Any]) -> dict[str, Any]:
    """A live object as an apply configuration: no status, no server-owned metadata."""
    obj = copy.deepcopy(live)
    obj.pop("status", None)
    meta = obj.get("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in _SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    return obj


def rollback(
    kube: KubeApi,
    snapshots: list[tuple[dict[str, Any], dict[str, Any] | None]],
    *,
    delete_created: bool,
    progress: Progress,
) -> list[str]:
    """Put every object back as it was before the apply; say what was done for each.

    Objects that existed are re-applied from their snapshot (the previous revision). Objects
    the apply created are deleted when ``delete_created``; otherwise they stay and are listed.
    """
    done: list[str] = []
    for desired, live in reversed(snapshots):
        ref = object_ref(desired)
        if live is not None:
            kube.apply(sanitize_live(live), dry_run=False)
            done.append(f"{ref} restored to its previous revision")
        elif delete_created:
            kube.delete(desired)
            done.append(f"{ref} deleted (it was new)")
        else:
            done.append(f"{ref} left in place (it was new; deletion not enabled)")
        progress(f"rollback: {done[-1]}")
    return done
