"""The trace → OpenMetrics writer: exact text on a small trace, and counters that round-trip."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tools.openmetrics import (
    OpenMetricsOptions,
    SizeInForce,
    counter_samples,
    label_set,
    shift_to_now,
    write_openmetrics,
)
from tools.prometheus.history import counter_rates
from tools.sizing.models import PodSeries, ServiceMeta, UsageHistory
from tools.traces import Event, ServiceRecord, Trace

NAN = float("nan")


def small_trace() -> Trace:
    meta = ServiceMeta(name="api", system="shop", language="go", framework="gin", kind="http")
    pod = PodSeries(
        "api-1",
        np.array([1000, 1060, 1120, 1500], dtype=np.int64),
        np.array([0.5, 0.25, 0.125, 1.0]),
        np.array([10.0, 20.0, 30.0, 40.0]),
        np.array([1.0, NAN, 2.0, 4.0]),
    )
    return Trace(
        "small",
        {"api": ServiceRecord(meta, 0.5, 134217728)},
        {"api": UsageHistory("api", (pod,), 60, meta)},
        (
            Event(1070, "api", "api-1", "oom_killed", ""),
            Event(1130, "api", "api-1", "restart", ""),
            Event(1200, "api", "api-1", "fault_injected", "cpu_contention"),
        ),
    )


ID = '{namespace="shop",pod="api-1",container="api"}'
EXPECTED = (
    f"""# TYPE container_cpu_usage_seconds counter
container_cpu_usage_seconds_total{ID} 0.0 940
container_cpu_usage_seconds_total{ID} 30.0 1000
container_cpu_usage_seconds_total{ID} 45.0 1060
container_cpu_usage_seconds_total{ID} 52.5 1120
container_cpu_usage_seconds_total{ID} 0.0 1440
container_cpu_usage_seconds_total{ID} 60.0 1500
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{ID} 10.0 1000
container_memory_working_set_bytes{ID} 20.0 1060
container_memory_working_set_bytes{ID} 30.0 1120
container_memory_working_set_bytes{ID} 40.0 1500
# TYPE http_requests counter
http_requests_total{ID} 0.0 940
http_requests_total{ID} 60.0 1000
http_requests_total{ID} 0.0 1060
http_requests_total{ID} 120.0 1120
http_requests_total{ID} 0.0 1440
http_requests_total{ID} 240.0 1500
# TYPE kube_pod_labels gauge
"""
    + "".join(
        'kube_pod_labels{namespace="shop",pod="api-1",label_app="api",label_language="go",'
        f'label_framework="gin",label_kind="http"}} 1 {t}\n'
        for t in (1000, 1060, 1120, 1500)
    )
    + "# TYPE kube_pod_container_resource_limits gauge\n"
    + "".join(
        f'kube_pod_container_resource_limits{{namespace="shop",pod="api-1",container="api",'
        f'resource="{r}",unit="{u}"}} {v} {t}\n'
        for r, u, v in (("cpu", "core", "0.5"), ("memory", "byte", "134217728.0"))
        for t in (1000, 1060, 1120, 1500)
    )
    + f"""# TYPE kube_pod_container_status_restarts counter
kube_pod_container_status_restarts_total{ID} 0.0 1000
kube_pod_container_status_restarts_total{ID} 0.0 1060
kube_pod_container_status_restarts_total{ID} 1.0 1120
kube_pod_container_status_restarts_total{ID} 2.0 1500
# TYPE kube_pod_container_status_last_terminated_reason gauge
"""
    + 'kube_pod_container_status_last_terminated_reason{namespace="shop",pod="api-1",'
    + 'container="api",reason="OOMKilled"} 1 1120\n# EOF\n'
)


def test_small_trace_exact_text() -> None:
    out = io.StringIO()
    summary = write_openmetrics(small_trace(), out, OpenMetricsOptions())
    assert out.getvalue() == EXPECTED
    assert (summary.start, summary.end) == (1000, 1500)
    assert summary.samples == sum(
        1 for line in EXPECTED.splitlines() if line and not line.startswith("#")
    )


def test_shift_and_sizes() -> None:
    out = io.StringIO()
    sizes = {"api": SizeInForce(cpu_request_cores=0.1, memory_limit_bytes=64)}
    write_openmetrics(small_trace(), out, OpenMetricsOptions(shift_s=600, sizes=sizes))
    text = out.getvalue()
    assert f"container_memory_working_set_bytes{ID} 40.0 2100\n" in text
    assert 'resource_requests{namespace="shop",pod="api-1",container="api",resource="cpu",' in text
    # a size replaces the observed limits: memory 64 B, and no CPU limit
    assert 'resource="memory",unit="byte"} 64.0 1600' in text
    assert 'resource_limits{namespace="shop",pod="api-1",container="api",resource="cpu"' not in text


def test_sizes_for_unknown_service_are_refused() -> None:
    with pytest.raises(ValueError, match="not in the trace: web"):
        write_openmetrics(
            small_trace(), io.StringIO(), OpenMetricsOptions(sizes={"web": SizeInForce()})
        )


def test_each_family_is_written_once_and_series_are_time_sorted() -> None:
    out = io.StringIO()
    write_openmetrics(small_trace(), out, OpenMetricsOptions())
    families = [
        line.split()[2] for line in out.getvalue().splitlines() if line.startswith("# TYPE")
    ]
    assert len(families) == len(set(families))
    last: dict[str, int] = {}
    for line in out.getvalue().splitlines():
        if line.startswith("#"):
            continue
        head, _, stamp_text = line.rpartition(" ")
        series, stamp = head.rpartition(" ")[0], int(stamp_text)
        assert last.get(series, -1) < stamp
        last[series] = stamp


def test_label_values_are_escaped() -> None:
    assert label_set({"a": 'x"y\\z\nw'}) == '{a="x\\"y\\\\z\\nw"}'


def test_counters_round_trip_through_consecutive_differences() -> None:
    rng = np.random.default_rng(7)
    stamps = np.cumsum(rng.choice([59, 60, 61, 60, 900], size=2000)).astype(np.int64)
    rates = rng.gamma(2.0, 0.05, size=2000)
    rates[rng.random(2000) < 0.05] = NAN
    t, v = counter_samples(stamps, rates, 60, 3)
    back_t, back_v = counter_rates(t.astype(np.float64), v)
    known = np.isfinite(rates)
    at = np.searchsorted(back_t, stamps[known].astype(np.float64))
    assert np.array_equal(back_t[at], stamps[known].astype(np.float64))
    assert np.allclose(back_v[at], rates[known], rtol=1e-9, atol=1e-12)
    # the only other decoded points are the zero samples that restart a segment
    assert len(back_t) - int(known.sum()) <= int((~known).sum()) + int(
        (np.diff(stamps) > 180).sum()
    )


def test_shift_to_now_keeps_five_minute_alignment() -> None:
    shift = shift_to_now(small_trace(), now=1_000_000.0)
    assert shift % 300 == 0
    assert 1_000_000 - 300 < 1500 + shift <= 1_000_000
