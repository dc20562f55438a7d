"""The click path end to end: size → card → approve → the real pipeline → state and audit.

The approval service, Redis store and locks are the real ones; the executor is the real
pipeline on the Kubernetes emulator, the Terraform engine and ansible-runner."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.approvals.models import ProposalState
from bot.executors.kubernetes import KubeApi
from bot.service import ProposalService
from bot.settings import Settings
from tests.approvals.doubles import make_service, redis_prefix
from tests.emulators.kube_api import KubeEmulator
from tests.executors.conftest import NAMESPACE, make_executor
from tools.propose import SizeRequest

S = ProposalState


@pytest.fixture
def service(settings: Settings, kube: KubeApi) -> Iterator[ProposalService]:
    with redis_prefix() as (client, prefix):
        yield make_service(client, prefix, make_executor(settings, kube))  # type: ignore[arg-type]


TEST_IMAGE = os.environ.get("SIZER_TEST_IMAGE", "nginxinc/nginx-unprivileged:1.27-alpine")


def size(service: ProposalService) -> str:
    request = SizeRequest(
        name="items-api",
        namespace=NAMESPACE,
        language="python",
        framework="fastapi",
        rps_low=50,
        rps_high=100,
        similar=("emailservice",),
        image=TEST_IMAGE,
    )
    return service.size(request, "UREQUESTER", "C1", "1.0").id


def test_approve_click_renders_plans_applies_and_rolls_out(
    service: ProposalService, emulator: KubeEmulator
) -> None:
    proposal = service.get(size(service))
    change = proposal.current.change
    assert change.plan_summary.startswith("Terraform:") and change.plan_sha256
    assert change.objects[0] == f"Deployment/{NAMESPACE}/items-api"
    lines: list[str] = []

    done = service.approve(proposal.card_ref(), "UAPPROVER", lines.append)

    assert done.state == S.APPLIED, done.result
    assert done.result is not None and done.result.ok
    assert [s.name for s in done.result.steps][-1] == "rollout"
    assert any(line.startswith("rollout: ") for line in lines)
    live = emulator.objects[("deployments", NAMESPACE, "items-api")]
    assert live["metadata"]["annotations"]["sizer.dev/proposal-id"] == proposal.id
    requests = live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests["cpu"] == proposal.current.sizing.cpu_request
    moves = [e.to_state for e in service.workload_trail("items-api")]
    assert moves == ["proposed", "approved", "applying", "applied"]


def test_a_failed_step_leaves_the_proposal_failed_with_step_and_error_audited(
    service: ProposalService, emulator: KubeEmulator
) -> None:
    proposal = service.get(size(service))
    emulator.add_quota(NAMESPACE, "tiny", hard={"pods": "1"}, used={"pods": "1"})

    done = service.approve(proposal.card_ref(), "UAPPROVER")

    assert done.state == S.FAILED
    assert done.result is not None and done.result.failed_step == "preflight"
    last = list(service.workload_trail("items-api"))[-1]
    assert last.to_state == "failed"
    assert "preflight: does not fit: quota tiny: pods needs" in last.reason
    assert not emulator.objects


def test_a_failed_rollout_is_rolled_back_and_audited(
    service: ProposalService, emulator: KubeEmulator
) -> None:
    proposal = service.get(size(service))
    emulator.script("items-api", "oom")

    done = service.approve(proposal.card_ref(), "UAPPROVER")

    assert done.state == S.ROLLED_BACK
    last = list(service.workload_trail("items-api"))[-1]
    assert "rollout: pod items-api-" in last.reason and "OOMKilled" in last.reason
