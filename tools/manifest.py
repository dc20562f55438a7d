"""A Deployment preview built from a recommendation, for the terminal and the card.

This is the shape of what will be applied; the manifest that is actually applied is rendered
by the Ansible playbook from the same numbers and checked against the official schemas.
"""

from __future__ import annotations

from typing import Any

import yaml

from tools.sizing.models import Recommendation
from tools.sizing.quantities import format_cpu, format_memory

HYPERVISOR_TOPOLOGY_KEY = "kubernetes.io/hostname"


def resources(rec: Recommendation) -> dict[str, dict[str, str]]:
    requests = {
        "cpu": format_cpu(rec.cpu_request_cores),
        "memory": format_memory(rec.memory_request_bytes),
    }
    limits: dict[str, str] = {}
    if rec.cpu_limit_cores is not None:
        limits["cpu"] = format_cpu(rec.cpu_limit_cores)
    if rec.memory_limit_bytes is not None:
        limits["memory"] = format_memory(rec.memory_limit_bytes)
    return {"requests": requests, "limits": limits} if limits else {"requests": requests}


NO_IMAGE = "REPLACE-ME"  # shown when the request names no image; such a proposal never applies


def deployment(
    rec: Recommendation,
    namespace: str,
    image: str | None = None,
    port: int = 8080,
    probe_path: str | None = None,
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": rec.service, "app.kubernetes.io/managed-by": "sizer"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": rec.service,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": {
                "sizer.dev/strategy": rec.strategy,
                "sizer.dev/confidence": f"{rec.confidence:.2f}",
            },
        },
        "spec": {
            "replicas": rec.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": rec.service}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": HYPERVISOR_TOPOLOGY_KEY,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/name": rec.service}
                            },
                        }
                    ],
                    "containers": [
                        {
                            "name": rec.service,
                            "image": image or NO_IMAGE,
                            "ports": [{"name": "http", "containerPort": port}],
                            "readinessProbe": (
                                {"httpGet": {"path": probe_path, "port": "http"}}
                                if probe_path
                                else {"tcpSocket": {"port": "http"}}
                            ),
                            "resources": resources(rec),
                        }
                    ],
                },
            },
        },
    }


def deployment_yaml(
    rec: Recommendation,
    namespace: str,
    image: str | None = None,
    port: int = 8080,
    probe_path: str | None = None,
) -> str:
    return yaml.safe_dump(deployment(rec, namespace, image, port, probe_path), sort_keys=False)
