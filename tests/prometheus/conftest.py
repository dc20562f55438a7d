"""A real Prometheus for the whole session, its history backfilled from traces.

Debian's ``prometheus`` starts on a free 127.0.0.1 port over a data directory holding:

- the Online Boutique recording (MIT, ``data/nezha-online-boutique``), shifted to end now;
- ``lab``: a small trace written here with OOM kills, a restart, sizes in force and unknown
  request rates, ending now, so verification has events to find;
- ``lab-handlers``, 20 days back: a pod whose request rate comes in two handler series;
- ``lab-broken``, 30 days back: a workload with memory but no CPU series and one with
  cAdvisor series but no kube-state-metrics at all, for the partial/missing-data errors.

The recording rules of ``tools.prometheus.queries`` are evaluated over that history (promtool
against the running server, then a restart), so the recorded-series path is tested too. If
``prometheus`` or ``promtool`` is missing the session fails, saying what to install.
"""

from __future__ import annotations

import csv
import gzip
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.backfill import backfill, create_blocks, create_rule_blocks
from tools.openmetrics import OpenMetricsOptions, SizeInForce, shift_to_now
from tools.prometheus import MetricSchema, PrometheusClient, PrometheusTarget
from tools.prometheus.queries import recording_rules
from tools.traces import Trace, load_trace

DATA = Path(__file__).parent / "data"
NEZHA = DATA / "nezha-online-boutique"
MI = 2**20
LAB_SAMPLES = 26 * 60  # 26 h at 60 s: a 24 h window leaves the first 2 h (and an OOM) out
LAB_SIZES = {
    "orders": SizeInForce(
        cpu_request_cores=0.12,
        cpu_limit_cores=0.5,
        memory_request_bytes=200 * MI,
        memory_limit_bytes=256 * MI,
    )
}
BROKEN_AGE_S = 30 * 86400
HANDLERS_AGE_S = 20 * 86400
READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class PromServer:
    url: str
    now: float
    nezha: Trace
    nezha_shift: int
    lab: Trace
    lab_end: int
    broken_at: float
    handlers_at: float
    data_dir: Path

    @property
    def nezha_at(self) -> float:
        """End of the 5-min window holding the last sample: every window is complete by then."""
        last = max(int(p.timestamps[-1]) for h in self.nezha.usage.values() for p in h.pods)
        return float((last + self.nezha_shift) // 300 * 300 + 300)

    def client(self) -> PrometheusClient:
        return PrometheusClient(PrometheusTarget(url=self.url, source="the test"), timeout_s=30)


def _require(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        pytest.fail(
            f"{binary} not found: install Debian's prometheus package "
            "(apt-get install prometheus; .ci/run does this)",
            pytrace=False,
        )
    return found


def lab_sample_times(now: float) -> list[int]:
    last = int(now // 300) * 300 - 60 + 17  # off the 5-min boundaries, a minute in the past
    return [last - (LAB_SAMPLES - 1 - i) * 60 for i in range(LAB_SAMPLES)]


def lab_cpu(pod: int, i: int) -> float:
    if pod == 0 and i % 97 == 0:
        return 0.47  # at >= 90 % of the 0.5-core limit: saturated samples
    return round(
        0.1 + 0.05 * math.sin(2 * math.pi * i / 300) + (i * 7919 % 100) / 2000 + pod / 100, 6
    )


def lab_memory(pod: int, i: int) -> int:
    if pod == 0 and i in (100, 500, 501, 900):
        return 300 * MI  # above the 256 Mi limit: the OOM kills below
    return int((180 + 10 * math.sin(2 * math.pi * i / 400) + pod) * MI)


def write_lab_trace(root: Path, now: float) -> tuple[Path, int]:
    """Two services in namespace ``lab``; returns the directory and the last sample time."""
    root.mkdir(parents=True, exist_ok=True)
    times = lab_sample_times(now)
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
        w.writerow(["idle", "lab", "go", "", "worker", "", "", "a worker that waits"])
        w.writerow(["orders", "lab", "python", "flask", "http", "0.5", str(256 * MI), "orders"])
    pods = {"orders": ["orders-5c7d9-aaaaa", "orders-5c7d9-bbbbb"], "idle": ["idle-6f8b-ccccc"]}
    with gzip.open(root / "usage.csv.gz", "wt", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "service", "pod", "cpu_cores", "memory_bytes", "rps"])
        for service in ("idle", "orders"):
            for p, pod in enumerate(pods[service]):
                for i, t in enumerate(times):
                    if service == "idle":
                        w.writerow([t, service, pod, "0.01", 50 * MI + (i % 7) * 4096, ""])
                        continue
                    rps = "" if p == 1 and i % 50 == 0 else f"{20 + 5 * math.sin(i / 40):.4f}"
                    w.writerow([t, service, pod, repr(lab_cpu(p, i)), lab_memory(p, i), rps])
    with (root / "events.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "service", "pod", "kind", "detail"])
        rows = [
            (times[100] + 10, "orders", pods["orders"][0], "oom_killed", ""),
            (times[500] + 10, "orders", pods["orders"][0], "oom_killed", ""),
            (times[900] + 10, "orders", pods["orders"][0], "oom_killed", ""),
            (times[1200] + 5, "orders", pods["orders"][1], "restart", ""),
        ]
        w.writerows(sorted(rows))
    return root, times[-1]


def write_broken(path: Path, at: float) -> None:
    """cAdvisor-only data: ``nocpu`` has memory and no CPU, ``noksm`` lacks kube-state-metrics."""
    start = int(at) - 3600
    stamps = range(start, int(at), 60)
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    lines += [
        f'container_cpu_usage_seconds_total{{namespace="lab-broken",pod="noksm-1",'
        f'container="noksm"}} {0.1 * (t - start)!r} {t}'
        for t in stamps
    ]
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for workload in ("nocpu", "noksm"):
        lines += [
            f'container_memory_working_set_bytes{{namespace="lab-broken",pod="{workload}-1",'
            f'container="{workload}"}} {64 * MI} {t}'
            for t in stamps
        ]
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_handlers(path: Path, at: float) -> None:
    """``lab-handlers/api``: a pod whose request rate is split over two handler series, and a
    second pod with a single sample (just started, so no CPU rate yet)."""
    start = int(at) - 3600
    stamps = range(start, int(at), 60)
    ids = 'namespace="lab-handlers",pod="api-1",container="api"'
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    lines += [
        f"container_cpu_usage_seconds_total{{{ids}}} {0.25 * (t - start)!r} {t}" for t in stamps
    ]
    newest = 'namespace="lab-handlers",pod="api-2",container="api"'  # started a minute ago
    lines.append(f"container_cpu_usage_seconds_total{{{newest}}} 0.5 {stamps[-1]}")
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    lines += [f"container_memory_working_set_bytes{{{ids}}} {32 * MI} {t}" for t in stamps]
    lines.append(f"container_memory_working_set_bytes{{{newest}}} {32 * MI} {stamps[-1]}")
    lines.append("# TYPE http_requests counter")
    for handler, rps in (("/a", 2), ("/b", 3)):
        lines += [
            f'http_requests_total{{{ids},handler="{handler}"}} {rps * (t - start)} {t}'
            for t in stamps
        ]
    lines.append("# TYPE kube_pod_labels gauge")
    lines += [
        f'kube_pod_labels{{namespace="lab-handlers",pod="api-1",label_app="api"}} 1 {t}'
        for t in stamps
    ]
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"prometheus not ready after {READY_TIMEOUT_S} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def schema() -> MetricSchema:
    return MetricSchema()


@pytest.fixture(scope="session")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    binary = _require("prometheus")
    _require("promtool")
    root = tmp_path_factory.mktemp("prometheus")
    data = root / "tsdb"
    now = time.time()
    nezha = load_trace(NEZHA)
    shift = shift_to_now(nezha, now)
    backfill(nezha, data, OpenMetricsOptions(shift_s=shift))
    lab_dir, lab_end = write_lab_trace(root / "lab", now)
    lab = load_trace(lab_dir)
    backfill(lab, data, OpenMetricsOptions(sizes=LAB_SIZES))
    broken_at = float(int(now // 300) * 300 - BROKEN_AGE_S)
    write_broken(root / "broken.om", broken_at)
    create_blocks(root / "broken.om", data)
    handlers_at = float(int(now // 300) * 300 - HANDLERS_AGE_S)
    write_handlers(root / "handlers.om", handlers_at)
    create_blocks(root / "handlers.om", data)
    config = root / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\nscrape_configs: []\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "prometheus.log"
    # Recording rules over the backfilled history: needs a running server, then a restart so
    # the new blocks are loaded before any test queries.
    process = _start(binary, config, data, port, log)
    try:
        _wait_ready(url, process, log)
        rules = root / "rules.yml"
        rules.write_text(recording_rules(MetricSchema()), encoding="utf-8")
        first = min(int(p.timestamps[0]) for h in nezha.usage.values() for p in h.pods)
        create_rule_blocks(
            rules, url, (first + shift) // 300 * 300, (int(now) // 300 + 3) * 300, root / "recorded"
        )
    finally:
        _stop(process)
    for block in (root / "recorded").iterdir():
        shutil.move(str(block), data / block.name)
    process = _start(binary, config, data, port, log)
    try:
        _wait_ready(url, process, log)
        yield PromServer(url, now, nezha, shift, lab, lab_end, broken_at, handlers_at, data)
    finally:
        _stop(process)


@contextmanager
def serve_prometheus(data: Path, root: Path) -> Iterator[str]:
    """Another real Prometheus over a backfilled ``data`` directory, ready; yields its URL."""
    binary = _require("prometheus")
    config = root / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\nscrape_configs: []\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "prometheus.log"
    process = _start(binary, config, data, port, log)
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        _stop(process)


def _start(binary: str, config: Path, data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=50y",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
