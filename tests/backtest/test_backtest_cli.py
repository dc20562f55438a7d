"""``sizer backtest`` end to end on a tiny trace written here, its JSON re-scored by hand."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli import main
from tests.backtest.builders import write_trace

SERVICES = [
    'api,shop,java,spring-boot,http,0.5,1073741824,"Orders API, public"',
    "cart,shop,go,grpc,grpc,,,Cart",
    "web,shop,nodejs,express,frontend,1,,Storefront",
]
HOURS = 30


def _rows() -> list[str]:
    """30 h of 60 s samples; cart's pod is replaced after 20 h (still one replica)."""
    rng = np.random.default_rng(7)
    rows: list[str] = []
    base = 1_700_000_000
    for service, pods in (("api", ["api-a"]), ("cart", ["cart-1", "cart-2"]), ("web", ["web-x"])):
        for i, name in enumerate(pods):
            n = HOURS * 60
            lo, hi = (0, n) if len(pods) == 1 else ((0, 20 * 60) if i == 0 else (20 * 60, n))
            level = {"api": 0.2, "cart": 0.02, "web": 0.08}[service]
            for k in range(lo, hi):
                daily = 1 + 0.5 * math.sin(2 * math.pi * k / 1440)
                cpu = level * daily * (0.8 + 0.4 * rng.random())
                mem = int((300 if service == "api" else 60) * 2**20 * (1 + 0.05 * rng.random()))
                rps = "" if service == "web" else f"{10 * daily * rng.random():.3f}"
                rows.append(f"{base + k * 60},{service},{name},{cpu:.6f},{mem},{rps}")
    return rows


def _samples(rows: list[str]) -> dict[str, dict[str, list[tuple[int, float, float]]]]:
    out: dict[str, dict[str, list[tuple[int, float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        ts, service, pod_name, cpu, mem, _ = row.split(",")
        out[service][pod_name].append((int(ts), float(cpu), float(mem)))
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rescore(
    pods: dict[str, list[tuple[int, float, float]]], window: dict[str, int], rec: dict[str, Any]
) -> dict[str, Any]:
    """The BENCHMARK.md metrics, written out again without numpy or tools.sizing.scoring."""
    cpu_raw: list[float] = []
    mem_raw: list[float] = []
    cpu5: list[float] = []
    mem5: list[float] = []
    oom = 0
    for samples in pods.values():
        inside = [s for s in samples if window["start"] <= s[0] < window["end"]]
        groups: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
        for s in inside:
            groups[s[0] // 300].append(s)
        for group in groups.values():
            cpu5.append(sum(s[1] for s in group) / len(group))
            mem5.append(sum(s[2] for s in group) / len(group))
        limit = rec["memory_limit_bytes"]
        above_before = False
        for s in inside:
            above = limit is not None and s[2] > limit
            oom += int(above and not above_before)
            above_before = above
        cpu_raw += [s[1] for s in inside]
        mem_raw += [s[2] for s in inside]
    req, lim = rec["cpu_request_cores"], rec["cpu_limit_cores"]
    mreq, mlim = rec["memory_request_bytes"], rec["memory_limit_bytes"]
    return {
        "cpu_slack": (req - _p95(cpu5)) / req,
        "mem_slack": (mreq - _p95(mem5)) / mreq,
        "mem_peak_slack": None if mlim is None else (mlim - max(mem_raw)) / mlim,
        "oom_events": oom,
        "cpu_saturated_share": 0.0
        if lim is None
        else sum(c >= 0.9 * lim for c in cpu_raw) / len(cpu_raw),
        "cpu_over_request_share": sum(c > req for c in cpu_raw) / len(cpu_raw),
    }


def _assert_metrics_match(recomputed: dict[str, Any], reported: dict[str, Any]) -> None:
    assert reported.keys() == recomputed.keys()
    for key, value in recomputed.items():
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            assert reported[key] == value, key
        else:
            assert reported[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.fixture
def trace_dir(tmp_path: Path) -> tuple[Path, list[str]]:
    rows = _rows()
    return write_trace(tmp_path / "tiny-shop", SERVICES, rows), rows


def test_rightsize_json_rescored_independently(
    trace_dir: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, rows = trace_dir
    out = tmp_path / "out.json"
    assert main(["backtest", str(directory), "--mode", "rightsize", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    for name in ("sizer", "vpa", "krr-simple", "autopilot-mw", "static"):
        assert name in table
    doc = json.loads(out.read_text())
    assert (doc["trace"], doc["mode"], doc["history_hours"]) == ("tiny-shop", "rightsize", 12)
    assert doc["skipped"] == []
    samples = _samples(rows)
    first = min(int(r.split(",")[0]) for r in rows)
    assert [s["service"] for s in doc["services"]] == ["api", "cart", "web"]
    for service in doc["services"]:
        # history: first sample to +12 h; scoring: the next 24 h, cut at the trace's end (30 h)
        assert service["history_window"] == {"start": first, "end": first + 12 * 3600}
        assert service["window"] == {"start": first + 12 * 3600, "end": first + 30 * 3600}
        assert service["pods"] == 1
        assert set(service["recommenders"]) == {
            "sizer",
            "vpa",
            "krr-simple",
            "autopilot-mw",
            "static",
        }
        for rec in service["recommenders"].values():
            recomputed = _rescore(samples[service["service"]], service["window"], rec)
            _assert_metrics_match(recomputed, rec["metrics"])
            assert rec["replicas"] == 1
        sizer = service["recommenders"]["sizer"]
        assert sizer["reasons"] and 0 <= sizer["confidence"] <= 1
        rps_known = service["service"] != "web"
        assert (sizer["proposed_replicas"] is not None) == rps_known
        assert (service["replica_check"] is not None) == rps_known
    # the summary agrees with the per-service metrics
    vpa_cpu = sorted(s["recommenders"]["vpa"]["metrics"]["cpu_slack"] for s in doc["services"])
    assert doc["summary"]["vpa"]["median_cpu_slack"] == pytest.approx(vpa_cpu[1])
    assert doc["summary"]["vpa"]["services"] == 3
    static_ooms = sum(s["recommenders"]["static"]["metrics"]["oom_events"] for s in doc["services"])
    assert doc["summary"]["static"]["oom_events_total"] == static_ooms
    # |slack| keeps one decimal in the table, as README and docs/benchmarks.md quote it
    sizer_row = next(line for line in table.splitlines() if " sizer " in line)
    for field in ("median_abs_cpu_slack", "median_abs_mem_slack"):
        assert f" {doc['summary']['sizer'][field]:.1%} " in sizer_row


def test_cold_start_json_rescored_over_the_whole_trace(
    trace_dir: tuple[Path, list[str]], tmp_path: Path
) -> None:
    directory, rows = trace_dir
    out = tmp_path / "cold.json"
    args = ["backtest", str(directory), "--mode", "cold-start", "--json", str(out), "--quiet"]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    assert doc["mode"] == "cold-start" and doc["history_hours"] is None
    samples = _samples(rows)
    for service in doc["services"]:
        stamps = [s[0] for pod in samples[service["service"]].values() for s in pod]
        assert service["window"] == {"start": min(stamps), "end": max(stamps) + 60}
        assert set(service["recommenders"]) == {"sizer", "nearest-peer", "static"}
        for rec in service["recommenders"].values():
            _assert_metrics_match(
                _rescore(samples[service["service"]], service["window"], rec), rec["metrics"]
            )
        peer = service["recommenders"]["nearest-peer"]["reasons"][0]["peers"]
        assert peer and service["service"] not in peer
    web = next(s for s in doc["services"] if s["service"] == "web")
    assert web["load"] == {"rps_p50_per_pod": None, "rps_p95_per_pod": None}


def test_recommenders_option_selects_and_validates(
    trace_dir: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, _ = trace_dir
    out = tmp_path / "some.json"
    args = ["backtest", str(directory), "--recommenders", "vpa,sizer", "--json", str(out)]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    assert doc["recommenders"] == ["vpa", "sizer"]
    assert set(doc["services"][0]["recommenders"]) == {"vpa", "sizer"}
    capsys.readouterr()
    bad = ["backtest", str(directory), "--mode", "cold-start", "--recommenders", "vpa"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("sizer backtest: unknown recommender vpa for --mode cold-start")


def test_everything_skipped_when_the_history_leaves_too_little(
    trace_dir: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, _ = trace_dir
    out = tmp_path / "skip.json"
    assert main(["backtest", str(directory), "--history-hours", "27", "--json", str(out)]) == 0
    # the empty table says why
    assert "3 skipped (all: less than 4 h after the split (3.0 h))" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["services"] == []
    assert doc["skipped"] == [
        {"service": s, "reason": "less than 4 h after the split (3.0 h)"}
        for s in ("api", "cart", "web")
    ]
    assert doc["summary"]["sizer"]["services"] == 0
    assert doc["summary"]["sizer"]["median_cpu_slack"] is None


@pytest.mark.parametrize(
    ("mode", "flag", "value", "message"),
    [
        ("rightsize", "--check-every", "6h", "--check-every applies to --mode loop only"),
        ("rightsize", "--tick", "30m", "--tick applies to --mode loop only"),
        ("cold-start", "--jobs", "2", "--jobs applies to --mode loop only"),
        ("learning", "--check-every", "6h", "--check-every applies to --mode loop only"),
        ("loop", "--history-hours", "6", "--history-hours applies to --mode rightsize only"),
        ("cold-start", "--history-hours", "6", "--history-hours applies to --mode rightsize only"),
        (
            "learning",
            "--recommenders",
            "sizer",
            "--recommenders applies to --mode rightsize, cold-start or loop only",
        ),
    ],
)
def test_a_flag_the_mode_does_not_read_is_refused(
    trace_dir: tuple[Path, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    flag: str,
    value: str,
    message: str,
) -> None:
    directory, _ = trace_dir
    out = tmp_path / "never.json"
    argv = ["backtest", str(directory), "--mode", mode, flag, value, "--json", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sizer backtest: {message}")
    assert err.rstrip().endswith(f"not --mode {mode}") and err.count("\n") == 1
    assert not out.exists()


def test_the_flags_each_mode_reads_are_accepted(
    trace_dir: tuple[Path, list[str]], tmp_path: Path
) -> None:
    directory, _ = trace_dir
    base = ["backtest", str(directory), "--quiet"]
    right = tmp_path / "right.json"
    argv = [*base, "--history-hours", "8", "--recommenders", "sizer", "--json", str(right)]
    assert main(argv) == 0
    assert json.loads(right.read_text())["history_hours"] == 8
    loop = tmp_path / "loop.json"
    argv = [*base, "--mode", "loop", "--check-every", "4h", "--tick", "2h", "--jobs", "1"]
    assert main([*argv, "--recommenders", "sizer", "--json", str(loop)]) == 0
    settings = json.loads(loop.read_text())["settings"]
    assert (settings["check_every_s"], settings["tick_s"]) == (4 * 3600, 2 * 3600)
