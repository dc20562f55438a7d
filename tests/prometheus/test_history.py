"""Every query against a real Prometheus, checked against the same numbers taken from the trace."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from tests.prometheus.conftest import PromServer
from tools.prometheus import (
    EmptyResult,
    MalformedResponse,
    MetricSchema,
    MissingMetric,
    PartialData,
    PeerSelector,
    PrometheusClient,
    PrometheusTarget,
    PrometheusUnreachable,
    QueryFailed,
    Workload,
    fetch_peer_profiles,
    fetch_usage_history,
    profiles_from_raw,
)
from tools.sizing.profiles import PeerProfile, profile_from_history

BOUTIQUE = "online-boutique"
THREE_DAYS = 3 * 86400
GO_BOUTIQUE = {"checkoutservice", "frontend", "productcatalogservice", "shippingservice"}


def test_usage_history_is_the_trace(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client:
        for name, ref in sorted(prom.nezha.usage.items()):
            got = fetch_usage_history(
                client, schema, Workload(name=name, namespace=BOUTIQUE), THREE_DAYS, prom.now
            )
            assert [p.pod for p in got.pods] == [p.pod for p in ref.pods], name
            assert got.interval_s == ref.interval_s
            assert got.meta is not None and ref.meta is not None
            assert (got.meta.language, got.meta.framework, got.meta.kind) == (
                ref.meta.language,
                ref.meta.framework,
                ref.meta.kind,
            )
            for a, b in zip(got.pods, ref.pods, strict=True):
                assert np.array_equal(a.timestamps, b.timestamps + prom.nezha_shift), name
                assert np.array_equal(a.memory_bytes, b.memory_bytes), name
                # counter differences: exact up to float rounding of the running sum
                assert np.allclose(a.cpu_cores, b.cpu_cores, rtol=1e-9, atol=1e-12), name
                assert np.array_equal(np.isnan(a.rps), np.isnan(b.rps)), name
                known = ~np.isnan(b.rps)
                assert np.allclose(a.rps[known], b.rps[known], rtol=1e-9, atol=1e-9), name


def test_usage_history_window_is_respected(prom: PromServer, schema: MetricSchema) -> None:
    at = float(prom.lab_end + 30)
    with prom.client() as client:
        got = fetch_usage_history(
            client, schema, Workload(name="orders", namespace="lab"), 3600, at
        )
    ref = prom.lab.usage["orders"].between(int(at) - 3600, int(at) + 1)
    assert [len(p) for p in got.pods] == [len(p) for p in ref.pods] == [60, 60]
    assert np.allclose(got.concat("cpu"), ref.concat("cpu"), rtol=1e-9)
    assert np.isnan(got.pods[1].rps).sum() == np.isnan(ref.pods[1].rps).sum() > 0


def _close(got: float | None, want: float | None, rel: float) -> bool:
    if got is None or want is None:
        return got is want
    return abs(got - want) <= rel * abs(want) + 1e-12


# Tolerances of server-side profiles against profile_from_history on the same samples:
# - memory quantiles and every maximum: the same samples and numpy's interpolation, so exact;
# - CPU quantiles, 2 %: the 5-min CPU mean is the counter's increase across the window divided
#   by the time it spans, which weights samples by their spacing (59/60/61 s here), and the first
#   window of each pod segment has no counter sample before it and is dropped; one window fewer
#   of ~390 moves the p95 rank by about one order statistic (1.5 % at most on this trace);
# - rps quantiles, 0.1 %: per-sample rates are read with irate() on a grid of scrape-interval
#   steps, so a 59 s or 61 s sample pair is occasionally read twice or skipped.
CPU_Q_REL = 0.02
RPS_Q_REL = 1e-3
EXACT_REL = 1e-9


# Recorded series: the rule group evaluates at its own offset within each 5 minutes (215 s
# here), so its windows straddle the aligned windows of the reference. Measured on this trace:
# CPU quantiles within 6.7 %, memory quantiles within 0.1 %, maxima exact.
REC_CPU_Q_REL = 0.10
REC_MEM_Q_REL = 0.01


def _compare(
    got: PeerProfile, want: PeerProfile, cpu_q: float = CPU_Q_REL, mem_q: float = EXACT_REL
) -> list[str]:
    wrong = []
    for field, rel in [
        ("cpu_p50", cpu_q),
        ("cpu_p95", cpu_q),
        ("cpu_max", EXACT_REL),
        ("mem_p50", mem_q),
        ("mem_p95", mem_q),
        ("mem_max", EXACT_REL),
        ("rps_p50", RPS_Q_REL),
        ("rps_p95", RPS_Q_REL),
    ]:
        if not _close(getattr(got, field), getattr(want, field), rel):
            wrong.append(
                f"{want.meta.name}.{field}: {getattr(got, field)} vs {getattr(want, field)}"
            )
    return wrong


def test_server_side_profiles_match_the_reference(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client:
        found = fetch_peer_profiles(
            client, schema, PeerSelector(namespace=BOUTIQUE), THREE_DAYS, prom.nezha_at
        )
    assert found.incomplete == ()
    by_name = {p.meta.name: p for p in found.profiles}
    assert set(by_name) == set(prom.nezha.usage)
    wrong = []
    for name, history in prom.nezha.usage.items():
        want = profile_from_history(history, prom.nezha.services[name].meta)
        got = by_name[name]
        assert got.pods == want.pods
        assert abs(got.hours - want.hours) <= 2 * 60 / 3600
        assert (got.meta.language, got.meta.framework, got.meta.system) == (
            want.meta.language,
            want.meta.framework,
            BOUTIQUE,
        )
        wrong += _compare(got, want)
    assert wrong == []


def test_profiles_from_raw_series_are_the_reference(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client:
        raw = profiles_from_raw(
            client, schema, PeerSelector(namespace=BOUTIQUE, language="go"), THREE_DAYS, prom.now
        )
    assert {p.meta.name for p in raw.profiles} == GO_BOUTIQUE
    for got in raw.profiles:
        want = profile_from_history(prom.nezha.usage[got.meta.name])
        for field in ("cpu_p50", "cpu_p95", "cpu_max", "mem_p95", "mem_max", "rps_p95"):
            assert _close(getattr(got, field), getattr(want, field), 1e-9), field


def test_several_pods_at_once_give_an_upper_bound(prom: PromServer, schema: MetricSchema) -> None:
    """Two concurrent pods: the per-window maximum over pods bounds the pooled quantile."""
    with prom.client() as client:
        found = fetch_peer_profiles(
            client, schema, PeerSelector(namespace="lab", framework="flask"), THREE_DAYS, prom.now
        )
    (got,) = found.profiles
    want = profile_from_history(prom.lab.usage["orders"])
    assert got.pods == want.pods == 2
    assert got.meta.language == "python" and got.meta.kind == "http"
    assert got.cpu_p95 >= want.cpu_p95 * (1 - CPU_Q_REL)
    assert got.mem_p50 >= want.mem_p50 and got.mem_p95 >= want.mem_p95
    per_pod_mem_p95 = [
        profile_from_history(prom.lab.usage["orders"].__class__("orders", (p,), 60)).mem_p95
        for p in prom.lab.usage["orders"].pods
    ]
    assert got.mem_p95 <= max(per_pod_mem_p95) * (1 + EXACT_REL)
    assert _close(got.mem_max, want.mem_max, EXACT_REL)
    assert _close(got.cpu_max, want.cpu_max, EXACT_REL)


def test_peers_are_found_by_labels_across_namespaces(
    prom: PromServer, schema: MetricSchema
) -> None:
    with prom.client() as client:
        go = fetch_peer_profiles(client, schema, PeerSelector(language="go"), THREE_DAYS, prom.now)
        mux = fetch_peer_profiles(
            client, schema, PeerSelector(framework="gorilla-mux"), THREE_DAYS, prom.now
        )
        left_out = fetch_peer_profiles(
            client,
            schema,
            PeerSelector(namespace=BOUTIQUE, language="go", exclude=("frontend",)),
            THREE_DAYS,
            prom.now,
        )
    assert {p.meta.name for p in go.profiles} == GO_BOUTIQUE | {"idle"}
    idle = next(p for p in go.profiles if p.meta.name == "idle")
    assert idle.rps_p50 is None and idle.meta.kind == "worker"
    assert [p.meta.name for p in mux.profiles] == ["frontend"]
    assert {p.meta.name for p in left_out.profiles} == GO_BOUTIQUE - {"frontend"}


def test_unreachable_prometheus_fails_fast(schema: MetricSchema) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    began = time.monotonic()
    with (
        PrometheusClient(PrometheusTarget(url=f"http://127.0.0.1:{port}", source="X")) as client,
        pytest.raises(PrometheusUnreachable, match=f"127.0.0.1:{port} is unreachable"),
    ):
        fetch_usage_history(client, schema, Workload(name="cartservice", namespace="x"), 3600)
    assert time.monotonic() - began < 10


def test_unknown_workload_is_an_empty_result(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client, pytest.raises(EmptyResult, match="no-such-service"):
        fetch_usage_history(
            client, schema, Workload(name="no-such-service", namespace=BOUTIQUE), 3600, prom.now
        )


def test_no_data_at_all_names_cadvisor(prom: PromServer, schema: MetricSchema) -> None:
    long_ago = prom.now - 400 * 86400
    with prom.client() as client, pytest.raises(MissingMetric, match="cAdvisor") as caught:
        fetch_usage_history(
            client, schema, Workload(name="cartservice", namespace=BOUTIQUE), 3600, long_ago
        )
    assert caught.value.metric == "container_memory_working_set_bytes"


def test_memory_without_cpu_is_partial_data(prom: PromServer, schema: MetricSchema) -> None:
    with (
        prom.client() as client,
        pytest.raises(PartialData, match="container_cpu_usage_seconds_total is not"),
    ):
        fetch_usage_history(
            client, schema, Workload(name="nocpu", namespace="lab-broken"), 3600, prom.broken_at
        )


def test_missing_kube_state_metrics_is_named(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client, pytest.raises(MissingMetric, match="kube-state-metrics"):
        fetch_peer_profiles(client, schema, PeerSelector(), 3600, prom.broken_at)


def test_a_refused_query_is_query_failed(prom: PromServer) -> None:
    with prom.client() as client, pytest.raises(QueryFailed, match="400"):
        client.instant("sum(", prom.now)


def test_request_rate_series_of_a_pod_are_summed(prom: PromServer, schema: MetricSchema) -> None:
    """Handlers at 2 and 3 req/s: history and profile both see 5 req/s for the pod."""
    at = prom.handlers_at
    with prom.client() as client:
        history = fetch_usage_history(
            client, schema, Workload(name="api", namespace="lab-handlers"), 3600, at
        )
        found = fetch_peer_profiles(
            client, schema, PeerSelector(namespace="lab-handlers"), 3600, at
        )
    assert [p.pod for p in history.pods] == ["api-1"]  # api-2 is too new for a CPU rate
    rps = history.concat("rps")
    assert len(rps) == 59 and np.allclose(rps, 5.0)
    assert np.allclose(history.concat("cpu"), 0.25)
    (profile,) = found.profiles
    assert profile.rps_p50 == pytest.approx(5.0) and profile.rps_p95 == pytest.approx(5.0)
    assert profile.cpu_p95 == pytest.approx(0.25)


def test_recorded_profiles_match_the_reference(prom: PromServer, schema: MetricSchema) -> None:
    """The recording-rule path: same tolerances; several pods give the largest pod's quantile."""
    with prom.client() as client:
        found = fetch_peer_profiles(
            client,
            schema,
            PeerSelector(namespace=BOUTIQUE),
            THREE_DAYS,
            prom.nezha_at,
            recorded=True,
        )
    assert found.incomplete == ()
    assert {p.meta.name for p in found.profiles} == set(prom.nezha.usage)
    wrong = []
    for got in found.profiles:
        history = prom.nezha.usage[got.meta.name]
        want = profile_from_history(history)
        windows = len({int(t) // 300 for p in history.pods for t in p.timestamps})
        # Known defect: depending on where "now" falls against the rule group's phase, the
        # recorded path can count up to ~5 % fewer windows for one workload (adservice seen
        # 30.9 h against 32.25 h); the subquery path is exact (test above).
        assert got.hours <= windows * 300 / 3600 + 1e-9, got.meta.name
        assert got.hours == pytest.approx(windows * 300 / 3600, rel=0.05), got.meta.name
        assert got.pods == 1
        if len(history.pods) == 1:
            wrong += _compare(got, want, REC_CPU_Q_REL, REC_MEM_Q_REL)
        else:  # pods one after the other: the larger of the two pods' own quantiles
            assert got.mem_p95 >= want.mem_p95 * (1 - REC_MEM_Q_REL)
            assert got.cpu_p95 >= want.cpu_p95 * (1 - REC_CPU_Q_REL)
            assert _close(got.mem_max, want.mem_max, EXACT_REL)
    assert wrong == []


def test_recorded_profiles_need_the_rules(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client, pytest.raises(MissingMetric, match="recording rules"):
        fetch_peer_profiles(
            client,
            schema,
            PeerSelector(namespace="lab-handlers"),
            3600,
            prom.handlers_at,
            recorded=True,
        )


def test_a_url_with_the_api_path_says_to_give_the_base_url(prom: PromServer) -> None:
    # PROMETHEUS_URL=http://host:9090/api/v1: the real server answers 404 to every query.
    with (
        PrometheusClient(
            PrometheusTarget(url=prom.url + "/api/v1", source="X"), timeout_s=5
        ) as client,
        pytest.raises(MalformedResponse, match="without /api/v1") as caught,
    ):
        client.instant("up")
    assert prom.url in str(caught.value)
