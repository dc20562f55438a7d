"""The bundled Terraform engine runs from a plain install, and a missing one is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.executors.terraform_engine import BUNDLED, EngineMissing, check_engine


def test_the_bundled_engine_answers_its_version() -> None:
    assert check_engine(BUNDLED).startswith("Terraform v1.")


def test_a_missing_engine_names_the_setting_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EngineMissing) as caught:
        check_engine("no-such-terraform")
    message = str(caught.value)
    assert message.startswith("SIZER_TERRAFORM_BIN: Terraform engine 'no-such-terraform' not found")
    assert "install Terraform" in message and "\n" not in message


def test_an_engine_that_is_not_terraform_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho 'not terraform'\n")
    fake.chmod(0o755)
    with pytest.raises(EngineMissing, match="failed"):
        check_engine(str(fake))


def test_serve_stops_at_start_up_when_the_engine_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setenv("SIZER_TERRAFORM_BIN", "/nonexistent/terraform")
    assert main(["serve", "--http"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sizer serve: SIZER_TERRAFORM_BIN: Terraform engine")
    assert len(err.splitlines()) == 1
