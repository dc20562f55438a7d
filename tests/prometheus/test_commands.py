"""``sizer verify`` and ``sizer load-trace`` end to end, through the CLI entry point."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from tests.prometheus.conftest import PromServer, write_lab_trace


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PROMETHEUS_URL", "SIZER_REQUEST_RATE_METRIC", "SIZER_APP_LABEL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_verify_prints_the_verdict(
    prom: PromServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("PROMETHEUS_URL", prom.url)
    status = main(["verify", "orders", "--at", str(prom.lab_end + 30)])
    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith("lab/orders: goals NOT MET (2 pod(s)")
    assert "in force  cpu 120m / 500m, memory 200Mi / 256Mi" in out
    assert "2 OOM kill(s), 3 restart(s)" in out
    assert "[fail] no-oom" in out
    assert "throttled not recorded: no container_cpu_cfs_* series in Prometheus" in out
    assert "scraped" not in out


def test_verify_json(
    prom: PromServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("PROMETHEUS_URL", prom.url)
    status = main(
        ["verify", "idle", "-n", "lab", "--since", "6h", "--json", "--at", str(prom.lab_end + 30)]
    )
    body = json.loads(capsys.readouterr().out)
    assert status == 1
    assert body["verdict"] == "unknown"
    assert body["end"] - body["start"] == 6 * 3600


def test_verify_without_prometheus_url(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "orders"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "sizer verify: PROMETHEUS_URL is not set: point it at the cluster's Prometheus"


def test_verify_unreachable_is_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.setenv("PROMETHEUS_URL", f"http://127.0.0.1:{port}")
    assert main(["verify", "orders", "-n", "lab"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unreachable" in err and str(port) in err
    assert err.rstrip().endswith("; check PROMETHEUS_URL")


def test_verify_url_without_scheme_is_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("PROMETHEUS_URL", "localhost:9090")
    assert main(["verify", "orders", "-n", "lab"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PROMETHEUS_URL: give the server's base URL with its" in err


def test_verify_bad_label_setting(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("PROMETHEUS_URL", "http://127.0.0.1:9")
    env.setenv("SIZER_APP_LABEL", "app.kubernetes.io/name")
    assert main(["verify", "orders", "-n", "lab"]) == 2
    assert "setting app_label: Value error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", 'orders"}'], "not a DNS-1123 label"),
        (["verify", "orders", "--namespace", "Lab"], "not a DNS-1123 label"),
        (["verify", "orders", "--since", "yesterday"], "use a number and m, h or d"),
        (["verify", "orders", "--since", "1m"], "between 5m and 90d"),
    ],
)
def test_verify_bad_input(
    argv: list[str], message: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("PROMETHEUS_URL", "http://127.0.0.1:9")
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_load_trace_writes_blocks(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_dir, _ = write_lab_trace(tmp_path / "lab", now=1_700_000_000.0)
    sizes = tmp_path / "sizes.json"
    sizes.write_text(json.dumps({"orders": {"cpu_request_cores": 0.1, "replicas": 2}}))
    data = tmp_path / "tsdb"
    status = main(
        [
            "load-trace",
            str(trace_dir),
            "--prometheus-data",
            str(data),
            "--sizes",
            str(sizes),
            "--shift-to-now",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("lab: 17 series, ")  # 6 per orders pod, 1 OOM reason, 4 idle
    listing = subprocess.run(
        ["promtool", "tsdb", "list", str(data)], capture_output=True, text=True, check=True
    ).stdout
    assert len(listing.strip().splitlines()) == 2  # header and one block


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"web": {}}, "not in the trace: web"),
        ({"orders": {"cpu_request_cores": -1}}, "orders.cpu_request_cores"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_load_trace_bad_sizes(
    sizes: object,
    message: str,
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trace_dir, _ = write_lab_trace(tmp_path / "lab", now=1_700_000_000.0)
    path = tmp_path / "sizes.json"
    path.write_text(json.dumps(sizes))
    argv = [
        "load-trace",
        str(trace_dir),
        "--prometheus-data",
        str(tmp_path / "db"),
        "--sizes",
        str(path),
    ]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_load_trace_missing_directory(
    tmp_path: Path, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["load-trace", str(tmp_path / "nope"), "--prometheus-data", str(tmp_path / "db")]
    assert main(argv) == 2
    assert "not a directory" in capsys.readouterr().err
