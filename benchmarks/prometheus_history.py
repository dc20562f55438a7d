"""How long peer history takes from Prometheus: server-side aggregation against raw series.

Backfills a local Prometheus with 1 + 100 + 1,000 workloads (namespaces ``bench-1``,
``bench-100``, ``bench-1000``), each a copy of a real Bitbrains VM's last ``--days`` days under a
new name, then times, per namespace:

- ``subqueries``: :func:`tools.prometheus.fetch_peer_profiles` (a dozen aggregate queries over
  the raw samples, evaluated by Prometheus);
- ``recorded``: the same with ``recorded=True``, reading the 5-minute series of
  :func:`tools.prometheus.queries.recording_rules` (backfilled once with promtool here; in a
  cluster the rules run continuously);
- ``raw series``: :func:`tools.prometheus.profiles_from_raw` (every sample of every workload
  pulled, profiles computed here).

Usage: ``python benchmarks/prometheus_history.py --trace PATH/TO/bitbrains-rnd-dev``. Needs
``prometheus`` and ``promtool`` on PATH. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tools.backfill import backfill, create_rule_blocks
from tools.openmetrics import OpenMetricsOptions
from tools.prometheus import (
    MetricSchema,
    PeerProfiles,
    PeerSelector,
    PrometheusClient,
    PrometheusTarget,
    fetch_peer_profiles,
    profiles_from_raw,
)
from tools.prometheus.queries import recording_rules
from tools.sizing.models import PodSeries, ServiceMeta, UsageHistory
from tools.traces import ServiceRecord, Trace, load_trace

COUNTS = (1, 100, 1000)


def synthetic_trace(source: Trace, days: float, counts: tuple[int, ...]) -> tuple[Trace, int]:
    """Copies of the source's services over its last ``days`` days; returns it and the end."""
    end = max(int(p.timestamps[-1]) for h in source.usage.values() for p in h.pods) + 1
    start = end - int(days * 86400)
    donors = []
    for name, history in sorted(source.usage.items()):
        window = history.between(start, end)
        if window.pods and window.samples >= 0.9 * days * 86400 / history.interval_s:
            donors.append((name, window))
    if not donors:
        raise SystemExit(f"no service of {source.name} covers the last {days} days")
    services: dict[str, ServiceRecord] = {}
    usage: dict[str, UsageHistory] = {}
    for count in counts:
        namespace = f"bench-{count}"
        for i in range(count):
            donor, window = donors[i % len(donors)]
            name = f"b{count}-w{i:04d}-{donor}"
            meta = ServiceMeta(name=name, system=namespace, kind="vm")
            services[name] = ServiceRecord(meta, None, None)
            pods = tuple(
                PodSeries(f"{name}-0", p.timestamps, p.cpu_cores, p.memory_bytes, p.rps)
                for p in window.pods[:1]
            )
            usage[name] = UsageHistory(name, pods, window.interval_s, meta)
    return Trace(f"bench-{source.name}", services, usage, ()), end


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_prometheus(data: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = work / "prometheus.yml"
    config.write_text("global: {}\nscrape_configs: []\n")
    port = free_port()
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=50y",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("prometheus did not become ready")


def timed(job: Callable[[], PeerProfiles], repeat: int) -> tuple[float, PeerProfiles]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - began)
    assert result is not None
    return statistics.median(times), result


def record(url: str, work: Path, schema: MetricSchema, start: int, end: int) -> Path:
    """Evaluate Sizer's recording rules over the history; returns the directory of blocks."""
    rules = work / "rules.yml"
    rules.write_text(recording_rules(schema), encoding="utf-8")
    out = work / "recorded"
    create_rule_blocks(rules, url, start, end, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, required=True, help="e.g. bitbrains-rnd-dev")
    parser.add_argument("--days", type=float, default=7.0, help="history per workload")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (median)")
    args = parser.parse_args()
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} not found: apt-get install prometheus")

    source = load_trace(args.trace)
    trace, end = synthetic_trace(source, args.days, COUNTS)
    interval = next(iter(trace.usage.values())).interval_s
    schema = MetricSchema(scrape_interval_s=interval)
    since = int(args.days * 86400)
    rows: list[tuple[int, float, float, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="sizer-bench-") as tmp:
        work = Path(tmp)
        data = work / "tsdb"
        began = time.perf_counter()
        result = backfill(trace, data, OpenMetricsOptions(), work_dir=work)
        print(
            f"backfilled {len(trace.usage)} workloads, {result.samples} samples "
            f"in {time.perf_counter() - began:.1f} s"
        )
        process, url = start_prometheus(data, work)
        try:
            began = time.perf_counter()
            recorded = record(url, work, schema, end - since - 600, end + 900)
            print(f"recording rules over the history: {time.perf_counter() - began:.1f} s (once)")
        finally:
            process.terminate()
            process.wait(timeout=30)
        for block in recorded.iterdir():
            shutil.move(str(block), data / block.name)
        process, url = start_prometheus(data, work)
        try:
            with PrometheusClient(
                PrometheusTarget(url=url, source="the benchmark"), timeout_s=600
            ) as client:
                for count in COUNTS:
                    peers = PeerSelector(namespace=f"bench-{count}")
                    cells = []
                    for job in (
                        partial(fetch_peer_profiles, client, schema, peers, since, end),
                        partial(
                            fetch_peer_profiles, client, schema, peers, since, end, recorded=True
                        ),
                        partial(profiles_from_raw, client, schema, peers, since, end),
                    ):
                        seconds, profiles = timed(job, args.repeat)
                        assert len(profiles.profiles) == count, profiles.incomplete[:3]
                        cells.append(seconds)
                    samples = sum(trace.usage[p.meta.name].samples for p in profiles.profiles)
                    rows.append((count, cells[0], cells[1], cells[2], samples))
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(
        f"\nhistory: {args.days:g} days at {interval} s per workload; seconds, median of "
        f"{args.repeat}; raw pulls CPU and memory samples of every workload"
    )
    head = ("workloads", "subqueries", "recorded", "raw series", "raw samples")
    print(" | ".join(f"{h:>11}" for h in head))
    print("-+-".join("-" * 11 for _ in head))
    for count, sub, rec, raw, samples in rows:
        print(f"{count:>11} | {sub:>11.3f} | {rec:>11.3f} | {raw:>11.3f} | {2 * samples:>11}")


if __name__ == "__main__":
    main()
