"""The Terraform providers ``terraform/`` needs, and the check that a filesystem mirror has
them, so a cluster without internet learns at start-up, not at the first proposal.

The mirror is Terraform's own layout (``providers mirror`` writes it, the image lays it down):
``HOST/NAMESPACE/TYPE/`` holding ``terraform-provider-TYPE_VERSION_OS_ARCH.zip`` (packed) or
``VERSION/OS_ARCH/`` (unpacked).
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Provider", "ProvidersMissing", "check_mirror", "current_platform", "required"]

_BLOCK = re.compile(r"required_providers\s*{(?P<body>(?:[^{}]|{[^{}]*})*)}", re.S)
_ENTRY = re.compile(r"(?P<name>\w+)\s*=\s*{(?P<spec>[^{}]*)}", re.S)
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class ProvidersMissing(RuntimeError):
    """A provider the Terraform tree needs is not in the mirror; the message says how to fix."""


@dataclass(frozen=True)
class Provider:
    source: str  # namespace/type, on registry.terraform.io
    constraint: str

    @property
    def type(self) -> str:
        return self.source.split("/")[-1]


def required(terraform_dir: Path) -> list[Provider]:
    """Every provider the ``required_providers`` blocks under ``terraform_dir`` name."""
    found: dict[str, str] = {}
    for tf in sorted(terraform_dir.rglob("*.tf")):
        for block in _BLOCK.finditer(tf.read_text(encoding="utf-8")):
            for entry in _ENTRY.finditer(block["body"]):
                source = re.search(r'source\s*=\s*"([^"]+)"', entry["spec"])
                version = re.search(r'version\s*=\s*"([^"]+)"', entry["spec"])
                if source:
                    key = source.group(1).removeprefix("registry.terraform.io/")
                    found[key] = found.get(key) or (version.group(1) if version else "")
    return [Provider(source, constraint) for source, constraint in sorted(found.items())]


def current_platform() -> str:
    machine = platform.machine().lower()
    return f"{platform.system().lower()}_{_ARCH.get(machine, machine)}"


def check_mirror(mirror: Path, terraform_dir: Path, target: str | None = None) -> list[str]:
    """The provider versions found for this platform; raises :class:`ProvidersMissing`."""
    target = target or current_platform()
    versions: list[str] = []
    for provider in required(terraform_dir):
        where = mirror / "registry.terraform.io" / provider.source
        name = re.compile(rf"terraform-provider-{provider.type}_(.+)_{target}\.zip")
        packed = (
            [m.group(1) for z in where.iterdir() if (m := name.fullmatch(z.name))]
            if where.is_dir()
            else []
        )
        unpacked = [d.parent.name for d in where.glob(f"*/{target}") if d.is_dir()]
        found = sorted(set(packed + unpacked))
        if not found:
            wanted = f" {provider.constraint}" if provider.constraint else ""
            raise ProvidersMissing(
                f"SIZER_TERRAFORM_PROVIDER_MIRROR {mirror}: no {provider.source}{wanted} for "
                f"{target}; lay it down with `sizer-terraform providers mirror "
                f"-platform={target} {mirror}` in the root module's directory (needs internet "
                "once), or use the image, which carries it"
            )
        versions += [f"{provider.source} {v}" for v in found]
    return versions
