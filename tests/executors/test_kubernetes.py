"""Server-side apply, rollout watch and pre-flight, against the emulator with the real client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from bot.executors import build_executor
from bot.executors.errors import StepFailed
from bot.executors.kubernetes import KubeApi, rollback
from bot.executors.preflight import check_nodes, check_quota, demand_of, preflight
from bot.executors.rollout import watch_rollout
from tests.emulators.kube_api import KubeEmulator
from tests.executors.conftest import NAMESPACE, make_settings


def deployment(
    revision: int = 1, replicas: int = 2, cpu: str = "500m", memory: str = "1Gi"
) -> dict[str, Any]:
    annotations = {"sizer.dev/proposal-id": "p-1", "sizer.dev/revision": str(revision)}
    labels = {"app.kubernetes.io/name": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.local/web:1",
                            "resources": {"requests": {"cpu": cpu, "memory": memory}},
                        }
                    ]
                },
            },
        },
    }


def test_dry_run_changes_nothing_and_apply_annotates(kube: KubeApi, emulator: KubeEmulator) -> None:
    obj = deployment()
    answer = kube.apply(obj, dry_run=True)
    assert answer["metadata"]["uid"] and kube.get(obj) is None
    kube.apply(obj, dry_run=False)
    live = kube.get(obj)
    assert live is not None
    assert live["metadata"]["annotations"]["sizer.dev/revision"] == "1"
    assert live["metadata"]["managedFields"][0]["manager"] == "sizer"


def test_the_server_rejects_an_invalid_object_with_its_reason(kube: KubeApi) -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "two"
    with pytest.raises(k8s.ApiException) as failure:
        kube.apply(obj, dry_run=True)
    assert failure.value.status == 422
    assert "is invalid" in str(failure.value.body)


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ("ready", None),
        ("oom", "OOMKilled"),
        ("crashloop", "CrashLoopBackOff"),
        ("never", "not ready after 1s"),
    ],
)
def test_rollout_outcomes(
    kube: KubeApi, emulator: KubeEmulator, outcome: str, message: str | None
) -> None:
    emulator.script("web", outcome)
    obj = deployment()
    kube.apply(obj, dry_run=False)
    lines: list[str] = []

    def watch() -> str:
        return watch_rollout(
            kube,
            obj,
            proposal_id="p-1",
            revision=1,
            timeout_s=1,
            max_restarts=2,
            progress=lines.append,
        )

    if message is None:
        assert watch() == "2/2 ready, 2 updated"
    else:
        with pytest.raises(StepFailed, match=message):
            watch()
    assert lines[0] == f"rollout: Deployment/{NAMESPACE}/web 0/2 ready, 2 updated"


def test_rollback_restores_the_snapshot_and_deletes_what_was_new(
    kube: KubeApi, emulator: KubeEmulator
) -> None:
    before = deployment(revision=1)
    emulator.seed(before)
    snapshot = kube.get(before)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {"selector": {"app.kubernetes.io/name": "web"}, "ports": [{"port": 80}]},
    }
    kube.apply(deployment(revision=2, memory="2Gi"), dry_run=False)
    kube.apply(service, dry_run=False)

    done = rollback(
        kube, [(before, snapshot), (service, None)], delete_created=True, progress=lambda _: None
    )

    assert done == [
        f"Service/{NAMESPACE}/web deleted (it was new)",
        f"Deployment/{NAMESPACE}/web restored to its previous revision",
    ]
    live = kube.get(before)
    assert live is not None and live["metadata"]["annotations"]["sizer.dev/revision"] == "1"
    assert (
        live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"]
        == "1Gi"
    )
    assert kube.get(service) is None


def test_preflight_reads_quota_and_nodes_from_the_cluster(
    kube: KubeApi, emulator: KubeEmulator
) -> None:
    emulator.add_running_pod("other", "big", "hv-1", cpu="7800m", memory="1Gi")
    assert preflight(kube, [deployment(replicas=3)]) == []
    emulator.add_quota(
        NAMESPACE, "q", hard={"requests.memory": "2Gi"}, used={"requests.memory": "1Gi"}
    )
    assert preflight(kube, [deployment(replicas=3)]) == [
        "quota q: requests.memory needs 4Gi more, 1Gi free (short by 3Gi)"
    ]


def test_nodes_that_cannot_take_a_pod_are_named_with_their_shortfall() -> None:
    nodes = [
        {
            "metadata": {"name": f"hv-{i}"},
            "spec": {},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}},
        }
        for i in (1, 2, 3)
    ]
    nodes.append(
        {
            "metadata": {"name": "cp"},
            "spec": {"taints": [{"key": "control-plane", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi"}},
        }
    )
    demand = demand_of(deployment(replicas=5, cpu="1500m", memory="1Gi"))
    problems = check_nodes(nodes, [], demand, NAMESPACE)
    assert problems == [
        "pod 4 of 6 does not fit any node (each needs 1500m cpu, 1Gi memory); "
        "hv-1: cpu short by 1; hv-2: cpu short by 1; hv-3: cpu short by 1"
    ]
    assert check_nodes(nodes, [], demand_of(deployment(replicas=2)), NAMESPACE) == []


def test_quota_credits_what_the_workload_already_uses() -> None:
    quota = {
        "metadata": {"name": "q"},
        "status": {
            "hard": {"requests.cpu": "3", "pods": "5"},
            "used": {"requests.cpu": "1500m", "pods": "3"},
        },
    }
    old = demand_of(deployment(replicas=3, cpu="500m"))
    grown = demand_of(deployment(replicas=3, cpu="600m"))
    assert check_quota([quota], grown, old) == []  # +300m, plus one surge pod of 600m: fits
    bigger = demand_of(deployment(replicas=5, cpu="600m"))
    assert check_quota([quota], bigger, old) == [
        "quota q: requests.cpu needs 2100m more, 1500m free (short by 600m)",
        "quota q: pods needs 3 more, 2 free (short by 1)",
    ]


def test_statefulset_rollout_waits_for_the_update_revision(
    kube: KubeApi, emulator: KubeEmulator
) -> None:
    obj = deployment()
    obj["kind"] = "StatefulSet"
    obj["spec"]["serviceName"] = "web"
    kube.apply(obj, dry_run=False)
    line = watch_rollout(
        kube, obj, proposal_id="p-1", revision=1, timeout_s=2, max_restarts=2, progress=print
    )
    assert line == "2/2 ready, 2 updated"
    live = kube.get(obj)
    assert live is not None
    assert live["status"]["currentRevision"] == live["status"]["updateRevision"]


def test_the_bot_builds_its_executor_from_a_kubeconfig(
    tmp_path: Path, terraform_bin: str, emulator: KubeEmulator
) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    settings = make_settings(tmp_path, terraform_bin, KUBECONFIG=str(kubeconfig))
    executor = build_executor(settings.executor, settings.cluster)
    assert executor.kube.namespace(NAMESPACE) is not None
    assert emulator.last_authorization == "Bearer t0ken"
