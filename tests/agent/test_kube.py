from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from tests.emulators.kube_api import KubeEmulator
from tools.kube import KubeReader, KubeReadError


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator()
    for name in ("hv1", "hv2", "hv3"):
        emulator.add_node(name, cpu="16", memory="64Gi")
    emulator.add_namespace("team-a")
    emulator.add_quota(
        "team-a",
        "compute",
        {"requests.cpu": "8", "requests.memory": "16Gi"},
        {"requests.cpu": "7", "requests.memory": "4Gi"},
    )
    emulator.add_running_pod("team-a", "image-resizer-1", "hv1", cpu="250m", memory="256Mi")
    emulator.add_running_pod("team-a", "api-1", "hv2", cpu="1", memory="1Gi")
    emulator.start()
    yield emulator
    emulator.stop()


def reader(kube: KubeEmulator) -> KubeReader:
    return KubeReader(k8s.ApiClient(kube.configuration()))


def test_nodes_allocatable_vs_requested(kube: KubeEmulator) -> None:
    nodes = {n.name: n for n in reader(kube).nodes()}
    assert set(nodes) == {"hv1", "hv2", "hv3"}
    assert nodes["hv1"].cpu_requested == 0.25 and nodes["hv1"].memory_requested == 256 * 2**20
    assert nodes["hv2"].cpu_free == 15 and nodes["hv3"].pods == 0
    assert nodes["hv3"].memory_allocatable == 64 * 2**30


def test_quotas_and_workloads(kube: KubeEmulator) -> None:
    r = reader(kube)
    (quota,) = r.quotas("team-a")
    assert quota.hard["requests.cpu"] == "8" and quota.used["requests.cpu"] == "7"
    workloads = {w.name: w for w in r.workloads("team-a")}
    assert workloads["api-1"].cpu_request == 1.0 and workloads["api-1"].replicas == 1
    assert workloads["image-resizer-1"].memory_request == 256 * 2**20


def test_fit_checks_nodes_and_quota(kube: KubeEmulator) -> None:
    r = reader(kube)
    assert r.fit("team-a", 2, 0.25, 2**30).fits
    over = r.fit("team-a", 3, 0.5, 2**30)
    assert not over.fits and "requests.cpu" in over.problems[0]
    huge = r.fit("team-a", 2, 15.9, 2**30)
    assert huge.placeable_pods == 1


def test_only_gets_and_never_secrets(kube: KubeEmulator) -> None:
    r = reader(kube)
    r.nodes(), r.quotas("team-a"), r.workloads("team-a")
    assert {method for method, _, _ in kube.requests} == {"GET"}
    assert not any("secret" in path for _, path, _ in kube.requests)


def test_bad_namespace_and_unreachable() -> None:
    configuration = k8s.Configuration()
    configuration.host = "http://127.0.0.1:9"
    configuration.retries = 0
    r = KubeReader(k8s.ApiClient(configuration))
    with pytest.raises(ValueError, match="DNS-1123"):
        r.quotas("Team_A")
    with pytest.raises(KubeReadError, match="list nodes"):
        r.nodes()
