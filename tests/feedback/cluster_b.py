"""A second real Prometheus: another cluster's metrics, with kube-state-metrics waiting reasons.

Namespace ``lab`` again, so one workload can run in both clusters with different data:

- ``orders``: no OOM kill, a 512 Mi limit in force (cluster A's ``orders`` has 256 Mi and kills);
- ``looper``: restarts every 20 minutes, waiting in ``CrashLoopBackOff`` after each;
- ``flappy``: as many restarts, but only ever waiting in ``ContainerCreating``;
- ``oomer``: OOM kills, and the kubelet's ``CrashLoopBackOff`` after each of them.

Usage and restarts go through the trace backfill like the lab trace of the first server; the
waiting reasons, which traces do not record, are written as OpenMetrics next to them.
"""

from __future__ import annotations

import csv
import gzip
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.prometheus.conftest import MI, serve_prometheus
from tools.backfill import backfill, create_blocks
from tools.openmetrics import OpenMetricsOptions, SizeInForce
from tools.traces import load_trace

__all__ = ["B_SIZES", "PODS", "WAITING_REASON", "ClusterB", "prom_b"]

WAITING_REASON = "kube_pod_container_status_waiting_reason"  # as kube-state-metrics names it

SAMPLES = 13 * 60  # 13 h at 60 s
EVENT_EVERY = 20  # samples between two restarts of the looping workloads, over the last 4 h
EVENT_SPAN = 4 * 60
B_SIZES = {
    "orders": SizeInForce(
        cpu_request_cores=0.06,
        cpu_limit_cores=1.0,
        memory_request_bytes=128 * MI,
        memory_limit_bytes=512 * MI,
    ),
    **{
        name: SizeInForce(
            cpu_request_cores=0.05,
            cpu_limit_cores=1.0,
            memory_request_bytes=96 * MI,
            memory_limit_bytes=256 * MI,
        )
        for name in ("looper", "flappy", "oomer")
    },
}
PODS = {
    "orders": "orders-b7f4c-ddddd",
    "looper": "looper-5d6c7-aaaaa",
    "flappy": "flappy-8c9d1-aaaaa",
    "oomer": "oomer-4b5a2-aaaaa",
}
WAITING = {"looper": "CrashLoopBackOff", "flappy": "ContainerCreating", "oomer": "CrashLoopBackOff"}


@dataclass(frozen=True)
class ClusterB:
    url: str
    end: int  # the last sample
    restarts: dict[str, int]  # restarts per workload over the last EVENT_SPAN samples


def _times(now: float) -> list[int]:
    last = int(now // 300) * 300 - 60 + 23
    return [last - (SAMPLES - 1 - i) * 60 for i in range(SAMPLES)]


def _write_trace(root: Path, times: list[int]) -> dict[str, list[int]]:
    """The trace; returns each looping workload's restart times."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "services.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            [
                "service",
                "system",
                "language",
                "framework",
                "kind",
                "observed_cpu_limit_cores",
                "observed_memory_limit_bytes",
                "description",
            ]
        )
        for name in PODS:
            w.writerow([name, "lab", "python", "flask", "http", "1.0", str(512 * MI), name])
    with gzip.open(root / "usage.csv.gz", "wt", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "service", "pod", "cpu_cores", "memory_bytes", "rps"])
        for name, pod in sorted(PODS.items()):  # rows in (service, pod, time) order
            for i, t in enumerate(times):
                cpu = 0.05 + 0.01 * math.sin(2 * math.pi * i / 240) + (i * 7919 % 100) / 10_000
                memory = int((120 if name == "orders" else 60) * MI + (i % 13) * 65_536)
                w.writerow([t, name, pod, f"{cpu:.6f}", memory, f"{12 + math.sin(i / 30):.4f}"])
    events: dict[str, list[int]] = {}
    rows = []
    for name, kind in (("looper", "restart"), ("flappy", "restart"), ("oomer", "oom_killed")):
        stamps = [times[i] + 10 for i in range(SAMPLES - EVENT_SPAN, SAMPLES - 1, EVENT_EVERY)]
        events[name] = stamps
        rows += [(t, name, PODS[name], kind, "") for t in stamps]
    with (root / "events.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "service", "pod", "kind", "detail"])
        w.writerows(sorted(rows))
    return events


def _write_waiting(path: Path, events: dict[str, list[int]]) -> None:
    """kube-state-metrics' waiting reason: 1 for the scrapes while the container waits."""
    lines = [f"# TYPE {WAITING_REASON} gauge"]
    for name, stamps in events.items():
        labels = f'namespace="lab",pod="{PODS[name]}",container="{name}",reason="{WAITING[name]}"'
        for t in stamps:
            lines += [f"{WAITING_REASON}{{{labels}}} 1 {t + d}" for d in (20, 80, 140)]
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def prom_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterB]:
    root = tmp_path_factory.mktemp("prometheus-b")
    data = root / "tsdb"
    times = _times(time.time())
    events = _write_trace(root / "trace", times)
    backfill(load_trace(root / "trace"), data, OpenMetricsOptions(sizes=B_SIZES))
    _write_waiting(root / "waiting.om", events)
    create_blocks(root / "waiting.om", data)
    with serve_prometheus(data, root) as url:
        yield ClusterB(url, times[-1], {name: len(stamps) for name, stamps in events.items()})
