"""``verify_workload`` against the real server, checked against score() on the trace itself."""

from __future__ import annotations

import numpy as np
import pytest

from tests.prometheus.conftest import LAB_SIZES, MI, PromServer
from tools.prometheus import MetricSchema, MissingMetric, Workload
from tools.sizing.scoring import pooled_window_means, score
from tools.verify import find_namespace, verify_workload

DAY = 86400


def test_verify_orders_matches_the_trace(prom: PromServer, schema: MetricSchema) -> None:
    at = float(prom.lab_end + 30)
    with prom.client() as client:
        v = verify_workload(client, schema, Workload(name="orders", namespace="lab"), DAY, at)
    size = LAB_SIZES["orders"]
    pods = prom.lab.usage["orders"].between(int(at) - DAY, int(at) + 1).pods
    want = score(
        pods,
        size.cpu_request_cores or 0.0,
        size.cpu_limit_cores,
        size.memory_request_bytes or 0.0,
        size.memory_limit_bytes,
    )
    assert v.in_force.model_dump() == {
        "cpu_request_cores": 0.12,
        "cpu_limit_cores": 0.5,
        "memory_request_bytes": 200.0 * MI,
        "memory_limit_bytes": 256.0 * MI,
        "changed_in_window": False,
    }
    assert v.samples == sum(len(p) for p in pods) and v.pods == 2
    for field, value in want.model_dump().items():
        assert v.metrics.model_dump()[field] == pytest.approx(value, rel=1e-9, abs=1e-12), field
    cpu5 = pooled_window_means(pods, memory=False)
    assert v.cpu.p95 == pytest.approx(float(np.percentile(cpu5, 95)), rel=1e-9)
    assert v.memory.max == max(float(p.memory_bytes.max()) for p in pods)
    # the OOM kill 25 h ago is outside the 24 h window; two OOM kills and a restart are inside
    assert (v.oom_kills, v.restarts) == (2, 3)
    assert v.metrics.oom_events == 2
    # backfilled from a trace, which records no throttling: said as such, with no hint that
    # cAdvisor is missing (its CPU and memory series are right there)
    assert v.throttled_share is None
    assert v.throttling_note == "not recorded: no container_cpu_cfs_* series in Prometheus"
    assert "throttling not recorded" in next(
        c.detail for c in v.checks if c.goal == "no-saturation"
    )
    checks = {c.goal: c.status for c in v.checks}
    assert checks["no-oom"] == "fail"
    assert checks["no-saturation"] == ("fail" if want.cpu_saturated_share >= 0.01 else "pass")
    assert want.cpu_slack is not None and want.mem_slack is not None
    assert checks["cpu-slack"] == ("pass" if abs(want.cpu_slack) <= 0.1 else "fail")
    assert checks["memory-slack"] == ("pass" if abs(want.mem_slack) <= 0.1 else "fail")
    assert v.verdict == "not met"
    assert v.notes == ()


def test_verify_without_requests_is_unknown(prom: PromServer, schema: MetricSchema) -> None:
    at = float(prom.lab_end + 30)
    with prom.client() as client:
        v = verify_workload(client, schema, Workload(name="idle", namespace="lab"), DAY, at)
    assert v.in_force.cpu_request_cores is None and v.in_force.memory_limit_bytes is None
    assert v.metrics.cpu_slack is None
    assert {c.goal: c.status for c in v.checks} == {
        "no-oom": "pass",
        "no-saturation": "pass",
        "cpu-slack": "unknown",
        "memory-slack": "unknown",
    }
    assert (v.oom_kills, v.restarts) == (0, 0)
    assert v.verdict == "unknown"


def test_verify_reads_observed_limits_of_a_trace(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client:
        v = verify_workload(
            client,
            schema,
            Workload(name="cartservice", namespace="online-boutique"),
            DAY,
            prom.nezha_at,
        )
    record = prom.nezha.services["cartservice"]
    assert v.in_force.cpu_limit_cores == record.observed_cpu_limit_cores
    assert v.in_force.memory_limit_bytes == record.observed_memory_limit_bytes
    ref = prom.nezha.usage["cartservice"]
    lo = int(prom.nezha_at) - DAY - prom.nezha_shift
    pods = ref.between(lo, int(prom.nezha_at) - prom.nezha_shift + 1).pods
    assert v.samples == sum(len(p) for p in pods)
    assert v.memory.max == max(float(p.memory_bytes.max()) for p in pods)


def test_history_shorter_than_the_window_is_noted(prom: PromServer, schema: MetricSchema) -> None:
    at = float(prom.lab_end + 30)
    with prom.client() as client:
        v = verify_workload(client, schema, Workload(name="orders", namespace="lab"), 7 * DAY, at)
    assert any("26.0 h of the 168 h" in n for n in v.notes)


def test_verify_without_kube_state_metrics_says_so(prom: PromServer, schema: MetricSchema) -> None:
    with prom.client() as client, pytest.raises(MissingMetric, match="kube-state-metrics"):
        verify_workload(
            client, schema, Workload(name="noksm", namespace="lab-broken"), 3600, prom.broken_at
        )


def test_verify_without_cadvisor_says_so(prom: PromServer, schema: MetricSchema) -> None:
    """No cAdvisor series at all (before any data): the verification names cAdvisor."""
    long_ago = prom.now - 400 * DAY
    with prom.client() as client, pytest.raises(MissingMetric, match="is cAdvisor scraped"):
        verify_workload(client, schema, Workload(name="orders", namespace="lab"), DAY, long_ago)


def test_find_namespace(prom: PromServer) -> None:
    with prom.client() as client:
        assert find_namespace(client, "orders", DAY, prom.now) == "lab"
        assert find_namespace(client, "frontend", 3 * DAY, prom.now) == "online-boutique"
