"""The offline provider check: the mirror holds what terraform/ needs, or start-up says how."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.executors.providers import Provider, ProvidersMissing, check_mirror, required
from tests.emulators.slack_api import SlackEmulator

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
KUBERNETES = "registry.terraform.io/hashicorp/kubernetes"


def test_the_terraform_tree_needs_the_kubernetes_provider() -> None:
    assert required(TERRAFORM) == [Provider("hashicorp/kubernetes", "~> 2.31")]


def test_packed_and_unpacked_mirrors_are_found(tmp_path: Path) -> None:
    packed = tmp_path / "packed" / KUBERNETES
    packed.mkdir(parents=True)
    (packed / "terraform-provider-kubernetes_2.38.0_linux_amd64.zip").write_bytes(b"zip")
    assert check_mirror(tmp_path / "packed", TERRAFORM, "linux_amd64") == [
        "hashicorp/kubernetes 2.38.0"
    ]
    (tmp_path / "unpacked" / KUBERNETES / "2.37.1" / "linux_arm64").mkdir(parents=True)
    assert check_mirror(tmp_path / "unpacked", TERRAFORM, "linux_arm64") == [
        "hashicorp/kubernetes 2.37.1"
    ]


def test_a_mirror_for_another_platform_is_missing_with_the_fix(tmp_path: Path) -> None:
    other = tmp_path / KUBERNETES
    other.mkdir(parents=True)
    (other / "terraform-provider-kubernetes_2.38.0_darwin_arm64.zip").write_bytes(b"zip")
    with pytest.raises(ProvidersMissing) as caught:
        check_mirror(tmp_path, TERRAFORM, "linux_amd64")
    message = str(caught.value)
    assert message.startswith(f"SIZER_TERRAFORM_PROVIDER_MIRROR {tmp_path}: no hashicorp/kube")
    assert "~> 2.31 for linux_amd64" in message and "providers mirror" in message


def test_serve_stops_with_one_line_before_slack(
    emulator: SlackEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SIZER_TERRAFORM_PROVIDER_MIRROR", str(tmp_path))
    monkeypatch.setenv("SLACK_API_URL", emulator.url)
    assert cli.main(["serve", "--http"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "no hashicorp/kubernetes" in lines[0]
    assert emulator.calls == []  # stopped before anything connected
