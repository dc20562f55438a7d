"""A malformed trace stops ``sizer backtest`` with one line naming file, line and reason."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.cli import main
from tests.backtest.builders import write_trace

GOOD_SERVICES = ["api,shop,java,spring-boot,http,0.5,1073741824,Orders API"]


def _good_rows(n: int = 5) -> list[str]:
    return [f"{1000 + 60 * i},api,api-a,0.1,1000000,1.5" for i in range(n)]


def _run(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["backtest", str(directory), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        (
            # header is line 1, so the third data row is line 4
            [*_good_rows(2), "1120,api,api-a,-0.1,1000000,1.5"],
            4,
            "cpu_cores must be finite, >= 0, no exponent: '-0.1'",
        ),
        (
            [*_good_rows(1), "1060,ghost,ghost-a,0.1,1000000,"],
            3,
            "service 'ghost' is not in services.csv",
        ),
        (
            [*_good_rows(3), "1000,api,api-a,0.1,1000000,"],
            5,
            "row is out of order after (api, api-a, 1120)",
        ),
        (
            ["1000,api,api-a,0.1,lots,"],
            2,
            "memory_bytes must be an integer, found 'lots'",
        ),
        (
            [*_good_rows(1), "1060,api,api-a,0.1"],
            3,
            "expected 6 fields, found 4",
        ),
    ],
)
def test_bad_usage_rows(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: list[str],
    line: int,
    reason: str,
) -> None:
    directory = write_trace(tmp_path / "bad", GOOD_SERVICES, rows)
    code, out, err = _run(directory, capsys)
    assert code == 2
    assert out == ""
    assert err == f"sizer backtest: {directory / 'usage.csv.gz'}:{line}: {reason}\n"


def test_bad_services_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    services = [*GOOD_SERVICES, "db,shop,,,lambda,,,Database"]
    directory = write_trace(tmp_path / "bad", services, _good_rows())
    code, _, err = _run(directory, capsys)
    assert code == 2
    prefix = f"sizer backtest: {directory / 'services.csv'}:3: kind 'lambda' not one of"
    assert err.startswith(prefix) and err.count("\n") == 1


def test_bad_event_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_trace(
        tmp_path / "bad", GOOD_SERVICES, _good_rows(), events=["1000,api,api-a,exploded,x"]
    )
    code, _, err = _run(directory, capsys)
    assert code == 2
    assert err.startswith(f"sizer backtest: {directory / 'events.csv'}:2: event kind 'exploded'")


def test_not_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_trace(tmp_path / "bad", GOOD_SERVICES, _good_rows())
    (directory / "usage.csv.gz").write_bytes(b"timestamp,service\n")
    code, _, err = _run(directory, capsys)
    assert code == 2
    assert err.startswith(f"sizer backtest: {directory / 'usage.csv.gz'}: cannot read gzip")


def test_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(tmp_path / "nowhere", capsys)
    assert code == 2
    assert err.startswith(f"sizer backtest: {tmp_path / 'nowhere'}: not a directory")


def test_a_good_trace_passes_the_same_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the control for the tests above: the same files without the bad row are accepted
    directory = write_trace(tmp_path / "good", GOOD_SERVICES, _good_rows(5))
    with gzip.open(directory / "usage.csv.gz", "rt") as stream:
        assert len(stream.read().splitlines()) == 6
    code, out, err = _run(directory, capsys)
    assert code == 0 and err == ""
    assert "1 skipped" in out  # 5 minutes of samples cannot be split 12 h + 4 h
