"""Cold start is leave-one-service-out: the target's own usage never reaches a recommender."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.backtest.builders import history, pod
from tools.backtest.recommenders import ColdStartCase
from tools.backtest.runner import run_backtest
from tools.sizing.baselines import static
from tools.sizing.coldstart import ColdStartInput
from tools.sizing.models import Policy, Recommendation, ServiceMeta, UsageHistory
from tools.traces import ServiceRecord, Trace

META = {
    "api": ServiceMeta(name="api", language="java", framework="spring-boot", kind="http"),
    "orders": ServiceMeta(name="orders", language="java", framework="spring-boot", kind="http"),
    "cart": ServiceMeta(name="cart", language="go", framework="grpc", kind="grpc"),
    "web": ServiceMeta(name="web", language="nodejs", framework="express", kind="frontend"),
}


def _usage(name: str, scale: float, seed: int) -> UsageHistory:
    rng = np.random.default_rng(seed)
    n = 600
    stamps = [i * 60 for i in range(n)]
    cpu = (0.05 + 0.02 * rng.random(n)) * scale
    mem = (200 + 20 * rng.random(n)) * 2**20 * scale
    rps = 5 + seed + rng.random(n)
    return history(name, pod(f"{name}-0", stamps, list(cpu), list(mem), list(rps)), meta=META[name])


def _trace(target_scale: float = 1.0) -> Trace:
    usage = {
        name: _usage(name, target_scale if name == "api" else 1.0, seed)
        for seed, name in enumerate(sorted(META))
    }
    services = {name: ServiceRecord(META[name], 0.5, 2**30) for name in META}
    return Trace("synthetic", services, usage, ())


def test_no_case_carries_the_target_or_its_samples() -> None:
    trace = _trace()
    seen: list[ColdStartCase] = []

    def probe(case: ColdStartCase) -> Recommendation:
        seen.append(case)
        return static.recommend(case.target.meta.name, case.target.replicas or 1)

    result = run_backtest(trace, "cold-start", cold_start_recommenders={"probe": probe})
    assert sorted(c.target.meta.name for c in seen) == sorted(META)
    assert len(result.services) == len(META)
    for case in seen:
        name = case.target.meta.name
        own = trace.usage[name]
        assert name not in {p.meta.name for p in case.peer_profiles}
        assert name not in {h.service for h in case.peer_histories}
        assert {h.service for h in case.peer_histories} == set(META) - {name}
        for peer in case.peer_histories:
            for theirs in peer.pods:
                for mine in own.pods:
                    assert not np.shares_memory(theirs.cpu_cores, mine.cpu_cores)
                    assert not np.shares_memory(theirs.memory_bytes, mine.memory_bytes)
        # the target's own rps is the only number from its recording it is told
        rps = own.concat("rps")
        assert case.target.rps_p50_per_pod == pytest.approx(float(np.percentile(rps, 50)))
        assert case.target.rps_p95_per_pod == pytest.approx(float(np.percentile(rps, 95)))
        assert case.target.replicas == 1


def test_the_case_has_no_place_for_the_targets_usage() -> None:
    # What a cold-start recommender can be given, by construction: if a field for usage is
    # ever added here, this test is the place to decide whether it is allowed.
    assert set(ColdStartInput.model_fields) == {
        "meta",
        "rps_p50_per_pod",
        "rps_p95_per_pod",
        "replicas",
        "similar",
        "namespace",  # where it will run: metadata, not usage
    }
    assert [f.name for f in dataclasses.fields(ColdStartCase)] == [
        "target",
        "peer_profiles",
        "peer_histories",
        "policy",
    ]
    assert "limit" not in " ".join(ServiceMeta.model_fields)


def test_a_case_listing_the_target_among_its_peers_is_refused() -> None:
    trace = _trace()
    target = ColdStartInput(meta=META["api"], rps_p50_per_pod=1.0, rps_p95_per_pod=2.0)
    with pytest.raises(ValueError, match="include api itself"):
        ColdStartCase(target, (), (trace.usage["api"],), Policy())


def test_recommendations_do_not_move_when_only_the_targets_usage_does() -> None:
    # Ten times the CPU and memory for "api", same request rate: a recommender that looked at
    # api's usage would answer differently for api. The metrics change; the sizes must not.
    plain = run_backtest(_trace(1.0), "cold-start")
    heavy = run_backtest(_trace(10.0), "cold-start")
    api_plain = next(s for s in plain.services if s.service == "api")
    api_heavy = next(s for s in heavy.services if s.service == "api")
    for name in plain.recommenders:
        a = api_plain.recommenders[name].model_dump(exclude={"metrics"})
        b = api_heavy.recommenders[name].model_dump(exclude={"metrics"})
        assert a == b, name
    assert api_plain.recommenders["static"].metrics != api_heavy.recommenders["static"].metrics


def test_sizers_own_replicas_are_asked_for_without_the_pod_count() -> None:
    asked: list[int | None] = []

    def sizer(case: ColdStartCase) -> Recommendation:
        asked.append(case.target.replicas)
        rec = static.recommend(case.target.meta.name, case.target.replicas or 7)
        return rec

    result = run_backtest(_trace(), "cold-start", cold_start_recommenders={"sizer": sizer})
    # every service has rps: one call at the trace's pod count, one without a count
    assert asked == [1, None] * len(META)
    for service in result.services:
        scored = service.recommenders["sizer"]
        assert scored.replicas == 1  # scored at the trace's pod count
        assert scored.proposed_replicas == 7  # what it proposed on its own
        assert service.replica_check is not None
        assert service.replica_check.proposed == 7
