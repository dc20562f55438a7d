"""The chart's RBAC grants exactly the Kubernetes API calls Sizer makes: no more, no less.

The calls are not listed by hand. Each code path runs against the Kubernetes emulator, whose
request log says what it asked for: the executor (prepare and apply of a Deployment, and of a
StatefulSet with an HPA, whose first rollouts fail and are rolled back by deleting what they
created) and the cluster reader the agent uses (nodes, quotas, workloads, fit). Terraform's
kubernetes provider cannot run here (no provider download), so its calls come from the
resources in ``terraform/`` and the table below of what the provider does for each. The union,
split into cluster-wide reads and writes in managed namespaces, must equal the rules of the
rendered ClusterRole and Role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.executors.base import ApplyRequest, ApplyResult, PreparedChange
from bot.executors.kubernetes import KubeApi
from bot.executors.pipeline import PipelineExecutor
from tests.deploy.chart import render
from tests.emulators.kube_api import KubeEmulator
from tests.executors.conftest import NAMESPACE, make_executor, make_settings, proposal
from tools.kube import KubeReader

ROOT = Path(__file__).resolve().parents[2]
Grant = tuple[str, str, str]  # (API group, resource, verb)

# What the Terraform kubernetes provider calls for each resource or data source type.
# A managed resource is created (POST), read on every refresh (GET), updated in place
# (PATCH) and destroyed (DELETE); a data source is read (GET).
TERRAFORM_TYPES: dict[str, tuple[str, str, bool]] = {  # type → (group, resource, namespaced)
    "kubernetes_namespace_v1": ("", "namespaces", False),
    "kubernetes_resource_quota_v1": ("", "resourcequotas", True),
    "kubernetes_limit_range_v1": ("", "limitranges", True),
    "kubernetes_service_v1": ("", "services", True),
    "kubernetes_storage_class_v1": ("storage.k8s.io", "storageclasses", False),
}
RESOURCE_VERBS = ("create", "get", "patch", "delete")
DATA_VERBS = ("get",)
# The namespace module is the one that creates namespaces, quotas and limit ranges; the chart
# grants it only with rbac.terraformOwnsNamespaces.
NAMESPACE_MODULE = ROOT / "terraform" / "modules" / "namespace"

_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[a-z.]+)/v\w+)"
    r"(?:/namespaces/(?P<ns>[a-z0-9-]+))?(?:/(?P<resource>[a-z]+))?(?:/(?P<name>[a-z0-9.-]+))?$"
)


def grants_of(requests: Iterable[tuple[str, str, dict[str, list[str]]]]) -> set[tuple[Grant, bool]]:
    """(grant, namespaced) for each logged request; non-resource paths (/version) need none."""
    found: set[tuple[Grant, bool]] = set()
    for method, path, query in requests:
        if path.rstrip("/") == "/version":
            continue
        match = _PATH.match(path)
        assert match, f"cannot read {method} {path}"
        group, ns, resource, name = (match[k] for k in ("group", "ns", "resource", "name"))
        if resource is None:  # /api/v1/namespaces/NAME is the namespace object itself
            resource, name, ns = "namespaces", ns, None
        verb = {
            "GET": "watch" if query.get("watch") == ["true"] else "get" if name else "list",
            "PATCH": "patch",
            "DELETE": "delete",
            "POST": "create",
            "PUT": "update",
        }[method]
        found.add(((group or "", resource, verb), ns is not None))
    return found


def terraform_grants(*, owns_namespaces: bool) -> set[tuple[Grant, bool]]:
    found: set[tuple[Grant, bool]] = set()
    for tf in sorted((ROOT / "terraform").rglob("*.tf")):
        if not owns_namespaces and NAMESPACE_MODULE in tf.parents:
            continue
        for block, kind in re.findall(
            r'^(resource|data)\s+"(kubernetes_\w+)"', tf.read_text(), re.M
        ):
            assert kind in TERRAFORM_TYPES, f"{tf}: add {kind} to TERRAFORM_TYPES"
            group, resource, namespaced = TERRAFORM_TYPES[kind]
            for verb in RESOURCE_VERBS if block == "resource" else DATA_VERBS:
                found.add(((group, resource, verb), namespaced))
    return found


def _approve(executor: PipelineExecutor, change: PreparedChange) -> ApplyResult:
    assert change.request is not None
    request = ApplyRequest(
        proposal_id=change.request.proposal_id,
        revision=change.request.revision,
        workload=change.request.workload,
        namespace=change.request.namespace,
        approved_by="U123",
        change=change,
    )
    return executor.apply(request, lambda _: None)


@pytest.fixture(scope="module")
def called(tmp_path_factory: pytest.TempPathFactory, terraform_bin: str) -> dict[str, Any]:
    """Every code path run once against a fresh emulator; its log, by path."""
    emu = KubeEmulator(kubernetes_version="1.31")
    for index in range(3):
        emu.add_node(f"hv-{index + 1}", cpu="8", memory="32Gi")
    emu.add_namespace(NAMESPACE)
    emu.add_quota(NAMESPACE, "q", {"requests.cpu": "16"}, {"requests.cpu": "1"})
    emu.add_running_pod("other", "noisy", "hv-1", "500m", "1Gi")
    emu.start()
    try:
        tmp = tmp_path_factory.mktemp("rbac")
        settings = make_settings(tmp, terraform_bin, SIZER_ROLLBACK_DELETE_FIRST=True)
        executor = make_executor(settings, KubeApi.from_configuration(emu.configuration()))
        # First rollouts that fail: what was created is deleted again (delete-first rollback).
        emu.script("items-api", "oom")
        result = _approve(executor, executor.prepare(proposal()))
        assert result.failed_step == "rollout" and result.rolled_back, result.error
        emu.script("orders-api", "crashloop")
        failing = proposal(
            proposal_id="p-200",
            workload="orders-api",
            stateful=True,
            storage_request="1Gi",
            hpa=True,
            hpa_max_replicas=4,
        )
        result = _approve(executor, executor.prepare(failing))
        assert result.failed_step == "rollout" and result.rolled_back, result.error
        executor_log = list(emu.requests)

        del emu.requests[:]
        reader = KubeReader(KubeApi.from_configuration(emu.configuration()).api_client)
        reader.nodes()
        reader.quotas(NAMESPACE)
        reader.workloads(NAMESPACE)
        reader.fit(NAMESPACE, 2, 0.25, 256 << 20)
        reader_log = list(emu.requests)
    finally:
        emu.stop()
    return {"executor": executor_log, "reader": reader_log}


def rules_of(obj: dict[str, Any]) -> set[Grant]:
    return {
        (group, resource, verb)
        for rule in obj["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def rendered_rbac(**rbac: Any) -> dict[str, dict[str, Any]]:
    docs = render({"rbac": {"managedNamespaces": ["team-a", "team-b"], **rbac}})
    return {
        f"{d['kind']}/{d['metadata'].get('namespace', '')}/{d['metadata']['name']}": d
        for d in docs
        if d["kind"] in ("ClusterRole", "Role")
    }


def required(called: dict[str, Any], *, owns_namespaces: bool) -> tuple[set[Grant], set[Grant]]:
    """(cluster-wide grants, grants in each managed namespace) the code paths need.

    Reads by the cluster reader are cluster-wide by design (any namespace can be asked about);
    the executor's calls on one named object or a watch are made in the namespace it applies
    to, and cluster-scoped or all-namespace calls are cluster-wide.
    """
    executor = grants_of(called["executor"])
    reader = grants_of(called["reader"])
    terraform = terraform_grants(owns_namespaces=owns_namespaces)
    cluster = {g for g, namespaced in executor | terraform if not namespaced}
    cluster |= {g for g, _ in reader}
    namespaced = {g for g, namespaced in executor | terraform if namespaced} - cluster
    return cluster, namespaced


def test_the_log_sees_each_kind_of_call(called: dict[str, Any]) -> None:
    """The derivation is only as good as the paths it ran: they reached every verb."""
    verbs = {g[2] for g, _ in grants_of(called["executor"])}
    assert verbs == {"get", "list", "watch", "patch", "delete"}
    assert ("", "nodes", "list") in {g for g, _ in grants_of(called["reader"])}


@pytest.mark.parametrize("owns_namespaces", [False, True])
def test_rbac_grants_exactly_what_the_code_calls(
    called: dict[str, Any], owns_namespaces: bool
) -> None:
    cluster, namespaced = required(called, owns_namespaces=owns_namespaces)
    rbac = rendered_rbac(terraformOwnsNamespaces=owns_namespaces)
    granted_cluster = rules_of(rbac["ClusterRole//sizer-read"])
    if owns_namespaces:
        granted_cluster |= rules_of(rbac["ClusterRole//sizer-namespaces"])
    else:
        assert "ClusterRole//sizer-namespaces" not in rbac
    # A namespace's own get is a cluster-wide read, so it appears once, in sizer-read.
    assert granted_cluster == cluster
    for ns in ("team-a", "team-b"):
        assert rules_of(rbac[f"Role/{ns}/sizer-apply"]) == namespaced
    assert len([k for k in rbac if k.startswith("Role/")]) == 2


def test_cluster_wide_rules_only_read_and_names_limit_what_they_can(called: dict[str, Any]) -> None:
    rbac = rendered_rbac(terraformOwnsNamespaces=True, storageClasses=["ceph-rbd"])
    assert {verb for _, _, verb in rules_of(rbac["ClusterRole//sizer-read"])} <= {"get", "list"}
    storage = [
        r for r in rbac["ClusterRole//sizer-read"]["rules"] if "storageclasses" in r["resources"]
    ]
    assert storage[0]["resourceNames"] == ["ceph-rbd"]
    namespace_writes = rbac["ClusterRole//sizer-namespaces"]["rules"]
    limited = [r for r in namespace_writes if set(r["verbs"]) & {"patch", "delete"}]
    assert limited and all(r["resourceNames"] == ["team-a", "team-b"] for r in limited)


def rbac_table(called: dict[str, Any]) -> list[str]:
    """The verb/resource table for the chart's README, from the same derivation."""
    cluster, namespaced = required(called, owns_namespaces=True)
    rows = []
    for scope, grants in (("cluster-wide", cluster), ("managed namespaces", namespaced)):
        by_resource: dict[str, set[str]] = {}
        for group, resource, verb in grants:
            by_resource.setdefault(f"{group or 'core'}/{resource}", set()).add(verb)
        for resource, verbs in sorted(by_resource.items()):
            rows.append(f"| {scope} | `{resource}` | {', '.join(sorted(verbs))} |")
    return rows


def test_the_chart_readme_shows_the_derived_table(called: dict[str, Any]) -> None:
    readme = (ROOT / "deploy" / "helm" / "sizer" / "README.md").read_text()
    for row in rbac_table(called):
        assert row in readme, f"deploy/helm/sizer/README.md lacks: {row}"
