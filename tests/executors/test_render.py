"""The Ansible render through ansible-runner, and the schema check of what it renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.executors.ansible import AnsibleRenderer
from bot.executors.errors import StepFailed
from bot.executors.validate import load_manifest, validate_manifest, validate_object
from bot.settings import Settings
from tests.executors.conftest import proposal


@pytest.fixture
def renderer(settings: Settings) -> AnsibleRenderer:
    return AnsibleRenderer.from_settings(settings.executor)


def test_stateless_service_renders_to_valid_deployment_service_pdb_and_hpa(
    renderer: AnsibleRenderer, settings: Settings
) -> None:
    lines: list[str] = []
    manifest = renderer.render(
        proposal(hpa=True, hpa_max_replicas=5, labels={"team": "a"}), lines.append
    )

    docs = validate_manifest(manifest, settings.executor.kubernetes_version)
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]
    deployment, _, pdb, hpa = docs
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 5
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"] == {
        "sizer.dev/proposal-id": "p-100",
        "sizer.dev/revision": "1",
    }
    assert pod["metadata"]["labels"]["team"] == "a"
    spread = pod["spec"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["maxSkew"] == 1
    assert pod["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    assert pdb["spec"]["maxUnavailable"] == 1
    assert lines[:2] == ["render: Check the proposal inputs", "render: Render the workload"]
    assert not list(
        (settings.executor.work_dir / "ansible").iterdir()
    )  # private data dir cleaned up


def test_stateful_service_renders_a_statefulset_with_sized_claims(
    renderer: AnsibleRenderer, settings: Settings
) -> None:
    manifest = renderer.render(
        proposal(stateful=True, storage_request="20Gi", storage_backend="nfs", replicas=3),
        lambda _: None,
    )

    docs = validate_manifest(manifest, settings.executor.kubernetes_version)
    statefulset, service = docs[0], docs[1]
    assert statefulset["kind"] == "StatefulSet" and statefulset["spec"]["replicas"] == 3
    claim = statefulset["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "nfs-client"
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert service["spec"]["clusterIP"] == "None"
    assert [d["kind"] for d in docs] == ["StatefulSet", "Service", "PodDisruptionBudget"]


def test_a_failing_task_is_reported_with_its_name_and_message(
    tmp_path: Path, settings: Settings
) -> None:
    playbooks = tmp_path / "playbooks"
    shutil.copytree(settings.executor.playbooks_dir, playbooks)
    (playbooks / "templates" / "service.yaml.j2").write_text("{{ undefined_thing.port }}\n")
    renderer = AnsibleRenderer(playbooks, tmp_path / "runs")
    lines: list[str] = []

    with pytest.raises(StepFailed) as failure:
        renderer.render(proposal(), lines.append)

    assert failure.value.step == "render"
    assert "task 'Render the Service' failed" in failure.value.message
    assert "undefined_thing" in failure.value.message
    assert any("failed" in line for line in lines)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"workload": "Items_API"}, "not a DNS-1123 label"),
        ({"image": "evil {{ lookup('pipe', 'id') }}"}, "not an image reference"),
        ({"memory_request": "lots"}, "not a Kubernetes quantity"),
        ({"stateful": True}, "needs storage_request"),
    ],
)
def test_unrenderable_input_is_refused_before_ansible_runs(
    renderer: AnsibleRenderer, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(StepFailed, match=message):
        renderer.render(proposal(**overrides), lambda _: None)
    assert not renderer.work_dir.exists()


def test_schema_violations_name_the_object_and_the_field() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "x", "image": "i", "resourcez": {}}]}},
        },
    }
    with pytest.raises(StepFailed) as failure:
        validate_object(deployment, "1.31")
    assert failure.value.message.startswith("Deployment/n/x is not valid for Kubernetes 1.31")
    assert "'resourcez' was unexpected" in failure.value.message
    with pytest.raises(StepFailed, match="every document needs"):
        load_manifest(yaml.safe_dump_all([{"kind": "Deployment"}]))
    with pytest.raises(StepFailed, match=r"does not support|Couldn't find schema"):
        validate_object({**deployment, "apiVersion": "apps/v1beta9"}, "1.31")


def test_image_port_and_probe_path_are_rendered_and_valid(
    renderer: AnsibleRenderer, settings: Settings
) -> None:
    manifest = renderer.render(
        proposal(image="ghcr.io/acme/items-api:1.4.2", port=8000, probe_path="/healthz"), print
    )
    deployment = validate_manifest(manifest, settings.executor.kubernetes_version)[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/items-api:1.4.2"
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    default = validate_manifest(
        renderer.render(proposal(), print), settings.executor.kubernetes_version
    )
    probe = default[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["tcpSocket"] == {"port": "http"} and "httpGet" not in probe
