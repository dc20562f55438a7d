"""README's configuration table is the one generated from the settings model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import cli
from bot.config_reference import BEGIN, END, replace_table, rows
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_carries_the_generated_table() -> None:
    text = README.read_text()
    assert replace_table(text) == text, "run: sizer config-reference --write README.md"


def test_every_variable_sizer_reads_is_in_the_table_with_a_meaning() -> None:
    listed = {r.variable for r in rows()}
    aliases = {m for r in rows() for m in re.findall(r"`([A-Z_]+)`", r.meaning)}
    nested = {"SIZER_POLICY", "SIZER_COLDSTART", "SIZER_RIGHTSIZE"}  # prefixes, shown per field
    assert Settings.env_names() - nested <= listed | aliases
    assert all(r.meaning and r.default for r in rows())
    assert {"SIZER_HEALTH_PORT", "SIZER_LOG_FORMAT", "SIZER_POLICY__CPU_LIMIT"} <= listed


def test_the_command_finds_a_stale_table_and_rewrites_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# Title\n\n{BEGIN}\n| old | table |\n{END}\n\nafter\n")
    assert cli.main(["config-reference", "--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert cli.main(["config-reference", "--write", str(stale)]) == 0
    assert cli.main(["config-reference", "--check", str(stale)]) == 0
    text = stale.read_text()
    assert "| `SLACK_BOT_TOKEN` | slack |" in text and text.endswith("\nafter\n")


def test_a_file_without_markers_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "notes.md"
    plain.write_text("nothing here\n")
    assert cli.main(["config-reference", "--check", str(plain)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"sizer config-reference: {plain}: no configuration reference markers found"
