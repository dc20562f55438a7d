"""The Helm chart, rendered by the real Helm engine: every object valid against the official
schemas (strict), the settings it sets real, the credentials only referenced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from bot.approvals.access import load_access
from bot.settings import Settings
from tests.deploy.chart import CHART, render

KUBERNETES_VERSION = Settings.load().executor.kubernetes_version
EXAMPLE = CHART / "examples" / "values-production.yaml"
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "example": yaml.safe_load(EXAMPLE.read_text()),
    "http, external redis, llm, worker, namespaces created": {
        "mode": "http",
        "worker": {"enabled": True},
        "redis": {
            "bundled": {"enabled": False},
            "external": {"url": "rediss://redis.example:6380/0", "passwordSecret": "redis-auth"},
        },
        "llm": {"baseUrl": "http://vllm.llm:8000/v1", "existingSecret": "llm-key"},
        "rbac": {
            "managedNamespaces": ["team-a"],
            "createNamespaces": True,
            "terraformOwnsNamespaces": True,
        },
        "workDir": {"persistence": {"enabled": False}},
    },
}


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def container(docs: list[dict[str, Any]], deployment: str) -> dict[str, Any]:
    found: dict[str, Any] = by_kind(docs)[f"Deployment/{deployment}"]["spec"]["template"]["spec"]
    return dict(found["containers"][0])


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}


def test_helm_lint_has_no_errors() -> None:
    result = helm.lint(str(CHART))
    assert result["errors"] == []
    assert all(m["severity"] < 3 for m in result["messages"]), result["messages"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_rendered_object_is_valid_strict(variant: str) -> None:
    docs = render(VARIANTS[variant])
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_defaults_two_bot_replicas_probes_pdb_bundled_redis_and_policy() -> None:
    docs = by_kind(render())
    assert set(docs) == {
        "ServiceAccount/sizer",
        "ConfigMap/sizer-access",
        "Service/sizer",
        "Service/sizer-redis",
        "PodDisruptionBudget/sizer",
        "PersistentVolumeClaim/sizer-work",
        "Deployment/sizer",
        "StatefulSet/sizer-redis",
        "NetworkPolicy/sizer",
        "ClusterRole/sizer-read",
        "ClusterRoleBinding/sizer-read",
    }
    bot = docs["Deployment/sizer"]
    assert bot["spec"]["replicas"] == 2
    c = bot["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["serve"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert c["resources"]["requests"]["memory"] and "cpu" not in c["resources"]["limits"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    redis_args = docs["StatefulSet/sizer-redis"]["spec"]["template"]["spec"]["containers"][0]
    assert redis_args["args"][1:3] == ["--appendonly", "yes"]
    assert docs["PodDisruptionBudget/sizer"]["spec"]["minAvailable"] == 1


def test_settings_are_real_and_credentials_are_secret_references() -> None:
    docs = render(VARIANTS["http, external redis, llm, worker, namespaces created"])
    for name in ("sizer", "sizer-worker"):
        env = env_of(container(docs, name))
        assert set(env) - {"REDIS_PASSWORD"} <= Settings.env_names()
        for secret in (
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "OPENAI_API_KEY",
            "REDIS_PASSWORD",
        ):
            assert "secretKeyRef" in env[secret], secret
        # Kubernetes puts the password into the URL; values never hold it.
        assert env["REDIS_URL"] == "rediss://:$(REDIS_PASSWORD)@redis.example:6380/0"
        assert "SLACK_APP_TOKEN" not in env  # HTTP mode
    worker = container(docs, "sizer-worker")
    assert worker["args"] == ["worker"]
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container(docs, "sizer")["args"] == ["serve", "--http", "--port", "3000"]
    assert "StatefulSet/sizer-redis" not in by_kind(docs)


def test_the_access_file_is_the_configmap_the_bot_reads(tmp_path: Path) -> None:
    values = yaml.safe_load(EXAMPLE.read_text())
    docs = by_kind(render(values))
    mounted = docs["ConfigMap/sizer-access"]["data"]["access.yaml"]
    assert yaml.safe_load(mounted) == values["access"]["file"]
    env = env_of(container(list(docs.values()), "sizer"))
    assert env["SIZER_ACCESS_FILE"] == "/etc/sizer/access.yaml"
    path = tmp_path / "access.yaml"
    path.write_text(mounted)
    assert "team-a" in load_access(path).namespaces  # the bot accepts what the chart mounts
