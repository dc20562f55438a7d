"""Full path through the Executor with the real parts: approve → render → plan/apply → apply →
rollout, and each way it can fail. Kubernetes is the emulator (scripted rollouts) or, for
tests marked ``cluster``, the cluster ``KUBECONFIG`` points at."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.executors.base import ApplyRequest, ApplyResult, PreparedChange
from bot.executors.kubernetes import KubeApi
from bot.executors.pipeline import PipelineExecutor
from bot.settings import Settings
from tests.emulators.kube_api import KubeEmulator
from tests.executors.conftest import NAMESPACE, make_executor, make_settings, proposal

ORDER = ["render", "validate", "preflight", "terraform", "dry-run", "apply", "rollout"]


def approve(executor: PipelineExecutor, change: PreparedChange) -> tuple[ApplyResult, list[str]]:
    assert change.request is not None
    lines: list[str] = []
    request = ApplyRequest(
        proposal_id=change.request.proposal_id,
        revision=change.request.revision,
        workload=change.request.workload,
        namespace=change.request.namespace,
        approved_by="U123",
        change=change,
    )
    return executor.apply(request, lines.append), lines


def steps(result: ApplyResult) -> list[tuple[str, bool]]:
    return [(s.name, s.ok) for s in result.steps]


@dataclass
class Target:
    settings: Settings
    kube: KubeApi
    namespace: str
    emulator: KubeEmulator | None


@pytest.fixture(params=["emulator", pytest.param("cluster", marks=pytest.mark.cluster)])
def target(request: pytest.FixtureRequest, tmp_path: Path, terraform_bin: str) -> Iterator[Target]:
    """The emulator, or the real cluster KUBECONFIG points at (namespace SIZER_TEST_NAMESPACE)."""
    if request.param == "emulator":
        emulator: KubeEmulator = request.getfixturevalue("emulator")
        kube = KubeApi.from_configuration(emulator.configuration())
        yield Target(make_settings(tmp_path, terraform_bin), kube, NAMESPACE, emulator)
        return
    if not os.environ.get("KUBECONFIG"):
        pytest.skip("needs KUBECONFIG for a real cluster")
    settings = make_settings(
        tmp_path, terraform_bin, KUBECONFIG=os.environ["KUBECONFIG"], SIZER_ROLLOUT_TIMEOUT_S=180
    )
    yield Target(
        settings,
        KubeApi.from_kubeconfig(settings.cluster.kubeconfig),
        os.environ.get("SIZER_TEST_NAMESPACE", "default"),
        None,
    )


def test_approved_change_reaches_the_cluster(target: Target) -> None:
    executor = make_executor(target.settings, target.kube)
    request = proposal(
        namespace=target.namespace,
        proposal_id=f"p-{int(time.time())}",
        hpa=True,
        load_balancer=True,
    )
    started = time.monotonic()
    rendering: list[str] = []
    change = executor.prepare(request, rendering.append)
    prepared = time.monotonic()
    try:
        assert "render: Render the workload" in rendering
        assert change.objects == tuple(
            f"{kind}/{target.namespace}/items-api"
            for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler")
        )
        assert change.plan_summary.startswith("Terraform: 1 to add")  # namespace exists: LB only
        assert "module.network.terraform_data.load_balancer[0]" in change.plan_summary
        assert change.preflight == ()
        assert change.plan_path and Path(change.plan_path).is_file()

        result, lines = approve(executor, change)
        finished = time.monotonic()
        print(f"prepare {prepared - started:.2f}s, apply {finished - prepared:.2f}s")

        assert result.ok, result
        assert steps(result) == [(name, True) for name in ORDER]
        assert result.failed_step is None and not result.rolled_back
        assert any(
            line.startswith("rollout: Deployment/") and " 1/1 ready" in line for line in lines
        )
        live = target.kube.get(yaml.safe_load(change.manifest_yaml.split("\n---\n")[0]))
        assert live is not None
        assert live["metadata"]["annotations"]["sizer.dev/proposal-id"] == request.proposal_id
        assert live["metadata"]["annotations"]["sizer.dev/revision"] == "1"
    finally:
        if target.emulator is None:
            for doc in yaml.safe_load_all(change.manifest_yaml):
                target.kube.delete(doc)
    if target.emulator is not None:
        patches = [q for m, _, q in target.emulator.requests if m == "PATCH"]
        assert len(patches) == 8  # four dry runs, then four applies
        assert all(q["fieldManager"] == ["sizer"] and q["force"] == ["true"] for q in patches)
        assert [q.get("dryRun") for q in patches] == [["All"]] * 4 + [None] * 4


def test_oom_on_rollout_rolls_back_to_the_previous_revision(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator
) -> None:
    executor = make_executor(settings, kube)
    first = executor.prepare(proposal(revision=1))
    previous = yaml.safe_load(first.manifest_yaml.split("\n---\n")[0])
    emulator.seed(previous)
    change = executor.prepare(proposal(revision=2, memory_limit="300Mi"))
    emulator.script("items-api", "oom")

    result, lines = approve(executor, change)

    assert not result.ok
    assert result.failed_step == "rollout"
    assert result.error is not None and "OOMKilled" in result.error
    assert result.rolled_back
    assert steps(result)[-2:] == [("rollout", False), ("rollback", True)]
    live = kube.get(previous)
    assert live is not None
    assert live["metadata"]["annotations"]["sizer.dev/revision"] == "1"
    limits = live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["memory"] == "512Mi"
    assert (
        result.previous_manifest_yaml and "sizer.dev/revision: '1'" in result.previous_manifest_yaml
    )
    assert any("restored to its previous revision" in line for line in lines)


def test_crashloop_on_first_deployment_deletes_it_when_asked(
    tmp_path: Path, terraform_bin: str, kube: KubeApi, emulator: KubeEmulator
) -> None:
    settings = make_settings(tmp_path, terraform_bin)  # the default deletes what was created
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal())
    emulator.script("items-api", "crashloop")

    result, _ = approve(executor, change)

    assert result.failed_step == "rollout"
    assert result.error and "CrashLoopBackOff" in result.error
    assert "Terraform changes already applied stay" in result.error
    assert result.rolled_back
    assert not emulator.objects  # every object the apply created is gone


def test_rollout_that_never_becomes_ready_times_out(
    tmp_path: Path, terraform_bin: str, kube: KubeApi, emulator: KubeEmulator
) -> None:
    settings = make_settings(
        tmp_path, terraform_bin, SIZER_ROLLOUT_TIMEOUT_S=1.5, SIZER_ROLLBACK_DELETE_CREATED=False
    )
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal())
    emulator.script("items-api", "never")

    result, _ = approve(executor, change)

    assert result.failed_step == "rollout"
    assert result.error and "not ready after 1.5s" in result.error
    rollback = result.steps[-1]
    assert rollback.name == "rollback" and "left in place" in rollback.detail


def test_what_does_not_fit_is_on_the_card_and_stops_the_apply(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator
) -> None:
    emulator.add_quota(
        NAMESPACE,
        "team-quota",
        hard={"requests.cpu": "1", "pods": "10"},
        used={"requests.cpu": "500m"},
    )
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal(replicas=3))
    assert change.preflight == (
        "quota team-quota: requests.cpu needs 1 more, 500m free (short by 500m)",
    )

    result, _ = approve(executor, change)

    assert result.failed_step == "preflight"
    assert steps(result) == [("render", True), ("validate", True), ("preflight", False)]
    assert not [r for r in emulator.requests if r[0] == "PATCH"]


def test_stale_plan_is_refused_and_nothing_reaches_the_cluster(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator
) -> None:
    executor = make_executor(settings, kube)
    older = executor.prepare(proposal(proposal_id="p-1", load_balancer=True))
    newer = executor.prepare(proposal(proposal_id="p-2", load_balancer=True, port=9090))
    assert approve(executor, newer)[0].ok

    result, _ = approve(executor, older)

    assert result.failed_step == "terraform"
    assert result.error and "changed since this plan was made" in result.error
    assert [s.name for s in result.steps][-1] == "terraform"


def test_tampered_manifest_is_refused_before_anything_runs(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator
) -> None:
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal())
    tampered = change.model_copy(
        update={"manifest_yaml": change.manifest_yaml.replace("256Mi", "128Mi")}
    )

    result, _ = approve(executor, tampered)

    assert result.failed_step == "render"
    assert result.error == "render: stored manifest does not match the hash that was shown"
    assert not [r for r in emulator.requests if r[0] == "PATCH"]


def test_apply_failure_part_way_removes_what_it_created(
    tmp_path: Path, terraform_bin: str, kube: KubeApi, emulator: KubeEmulator
) -> None:
    settings = make_settings(tmp_path, terraform_bin)
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal())
    emulator.fail_apply.add("PodDisruptionBudget")

    result, _ = approve(executor, change)

    assert result.failed_step == "apply"
    assert result.error and "scripted failure applying PodDisruptionBudget" in result.error
    assert "Deployment/team-a/items-api deleted (it was new)" in result.error
    assert not emulator.objects


def test_server_dry_run_rejection_stops_before_any_apply(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator
) -> None:
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal(namespace="team-b"))  # no such namespace on the server

    result, _ = approve(executor, change)

    assert result.failed_step == "dry-run"
    assert result.error and 'namespaces "team-b" not found' in result.error
    assert not emulator.objects


def test_a_lost_lease_stops_the_apply_before_the_next_step(
    tmp_path: Path, terraform_bin: str, kube: KubeApi, emulator: KubeEmulator
) -> None:
    from bot.executors.base import LeaseLost

    class LapsesAfter:
        def __init__(self, checks: int) -> None:
            self.left = checks

        def check(self) -> None:
            self.left -= 1
            if self.left < 0:
                raise LeaseLost("the apply lock lapsed before it could be renewed")

    executor = make_executor(make_settings(tmp_path, terraform_bin), kube)
    change = executor.prepare(proposal())
    request = ApplyRequest(
        proposal_id="p-100",
        revision=1,
        workload="items-api",
        namespace=NAMESPACE,
        approved_by="UAPPROVER",
        change=change,
    )
    result = executor.apply(request, lambda _: None, LapsesAfter(3))  # render, validate, preflight
    assert not result.ok and result.failed_step == "terraform"
    assert "stopped before terraform" in (result.error or "")
    assert "nothing had been changed yet" in (result.error or "")
    assert not emulator.objects


@pytest.mark.parametrize("image", [None, "registry.local/placeholder:latest"])
def test_a_proposal_without_a_real_image_is_never_applied(
    settings: Settings, kube: KubeApi, emulator: KubeEmulator, image: str | None
) -> None:
    executor = make_executor(settings, kube)
    change = executor.prepare(proposal(image=image))

    result, _ = approve(executor, change)

    assert result.failed_step == "render" and result.error
    assert "image" in result.error
    assert not [r for r in emulator.requests if r[0] == "PATCH"]
