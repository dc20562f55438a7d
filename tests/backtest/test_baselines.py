"""Each baseline on small synthetic series, against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backtest.builders import constant, history, pod
from tools.sizing.baselines import autopilot_mw, krr_simple, nearest_peer, static, vpa
from tools.sizing.coldstart import ColdStartInput
from tools.sizing.models import Policy, ServiceMeta, UsageHistory

MiB = 2**20
POLICY = Policy()

# ---------------------------------------------------------------- KRR simple


def test_krr_simple_on_a_known_series() -> None:
    # CPU 0.001 … 0.200 cores: p95 (linear) at rank 0.95 × 199 = 189.05 →
    # 0.190 + 0.05 × 0.001 = 0.19005 → rounded up to whole millicores: 0.191
    # memory peaks at 200 MiB: × 1.15 = 241172480 bytes → rounded up to whole MB: 242000000
    stamps = [i * 60 for i in range(200)]
    cpu = [(i + 1) / 1000 for i in range(200)]
    mem = [float((i + 1) * MiB) for i in range(200)]
    rec = krr_simple.recommend(history("svc", pod("svc-0", stamps, cpu, mem)), POLICY)
    assert rec.cpu_request_cores == pytest.approx(0.191)
    assert rec.cpu_limit_cores is None
    assert rec.memory_request_bytes == 242_000_000
    assert rec.memory_limit_bytes == 242_000_000
    assert rec.confidence == 1.0


def test_krr_simple_floors() -> None:
    # 2m of CPU and 20 MiB of memory are below KRR's floors of 10m and 100 MiB
    rec = krr_simple.recommend(constant("svc", samples=200, cpu=0.002, memory=20 * MiB), POLICY)
    assert rec.cpu_request_cores == pytest.approx(0.010)
    assert rec.memory_request_bytes == 100 * MiB


def test_krr_simple_takes_the_highest_per_pod_percentile() -> None:
    # pod a: 94 × 0.3 and 6 × 1.0 → its p95 (rank 94.05) is 1.0;
    # pod b: 1000 × 0.01. Pooled, the p95 would be 0.3; KRR takes the worst pod: 1.0.
    a = pod("a", [i * 60 for i in range(100)], [0.3] * 94 + [1.0] * 6, [MiB] * 100)
    b = pod("b", [i * 60 for i in range(1000)], [0.01] * 1000, [MiB] * 1000)
    rec = krr_simple.recommend(history("svc", a, b), POLICY)
    assert rec.cpu_request_cores == pytest.approx(1.0)


def test_krr_simple_says_when_it_would_refuse() -> None:
    rec = krr_simple.recommend(constant("svc", samples=50, cpu=0.2, memory=200 * MiB), POLICY)
    assert rec.confidence == 0.0
    cpu_reason = rec.reason("cpu_request")
    assert cpu_reason is not None and "Not enough data" in cpu_reason.text


# ---------------------------------------------------------------- VPA


def test_vpa_bucket_edges() -> None:
    b = vpa.ExponentialBuckets(vpa.CPU_MAX_CORES, vpa.CPU_FIRST_BUCKET_CORES)
    # ceil(ln(1000 × 0.05 / 0.01 + 1) / ln 1.05) + 1 = ceil(8.51739 / 0.04879) + 1 = 175 + 1
    assert b.num_buckets == 176
    assert b.start(0) == 0.0
    assert b.start(1) == pytest.approx(0.01)
    assert b.start(2) == pytest.approx(0.0205)  # 0.01 + 0.01 × 1.05
    assert b.start(3) == pytest.approx(0.031525)  # 0.0205 + 0.01 × 1.05²
    # 0.005 < first bucket → 0; 0.015 → floor(ln 1.075 / ln 1.05) = floor(1.48) = 1;
    # 0.03 → floor(ln 1.15 / ln 1.05) = floor(2.86) = 2; 10^6 cores → clamped to the last
    found = b.find(np.array([0.005, 0.015, 0.03, 1e6]))
    assert found.tolist() == [0, 1, 2, 175]


def test_vpa_percentile_is_the_upper_edge_of_the_bucket() -> None:
    b = vpa.ExponentialBuckets(vpa.CPU_MAX_CORES, vpa.CPU_FIRST_BUCKET_CORES)
    index = b.find(np.array([0.015] * 10))
    # every sample in bucket 1 [0.01, 0.0205): any percentile is its upper edge, 0.0205
    assert b.percentile(index, np.ones(10), 0.9) == pytest.approx(0.0205)
    assert b.percentile(index, np.zeros(10), 0.9) == 0.0  # empty histogram


def test_vpa_decay_halves_weight_per_day() -> None:
    # ten samples of 0.5 at day 0, four of 2.0 at day 2: with a 24 h half-life the new ones
    # weigh 2² = 4 each: 16 of 26. The p50 threshold (13) is only reached in 2.0's bucket
    # (49), whose upper edge is 0.2 × (1.05^50 − 1) = 2.0935. Without decay the p50 would
    # stay in 0.5's bucket (25): 0.2 × (1.05^26 − 1) = 0.5111.
    stamps = np.array([0] * 10 + [2 * 86400] * 4, dtype=np.int64)
    values = np.array([0.5] * 10 + [2.0] * 4)
    weights = vpa.decay_weights(stamps, 86400)
    assert weights.tolist() == [1.0] * 10 + [4.0] * 4
    b = vpa.ExponentialBuckets(vpa.CPU_MAX_CORES, vpa.CPU_FIRST_BUCKET_CORES)
    index = b.find(values)
    assert b.percentile(index, weights, 0.5) == pytest.approx(0.2 * (1.05**50 - 1))
    assert b.percentile(index, np.ones(14), 0.5) == pytest.approx(0.2 * (1.05**26 - 1))


def test_vpa_memory_keeps_one_peak_per_pod_per_day() -> None:
    hours = list(range(30))
    mem = [100.0] * 5 + [300.0] + [100.0] * 18 + [200.0] * 6
    usage = history("svc", pod("svc-0", [h * 3600 for h in hours], [0.1] * 30, mem))
    peaks, ends = vpa.memory_peaks(usage, 86400)
    assert peaks.tolist() == [300.0, 200.0]  # [0 h, 24 h) and [24 h, 48 h)
    assert ends.tolist() == [86400, 2 * 86400]  # stamped with the end of their interval


def test_vpa_target_margin_minimum_and_confidence() -> None:
    # 12 h of 60 s samples at 0.5 cores and 300 MiB.
    usage = constant("svc", samples=720, cpu=0.5, memory=300 * MiB)
    est = vpa.estimate(usage)
    # CPU: 0.5 is in bucket floor(ln 3.5 / ln 1.05) = 25, upper edge 0.2 × (1.05^26 − 1)
    # = 0.51113 → 511m; + int(511 × 0.15) = 76 → 587m
    assert est.cpu_millicores.target == 587
    # confidence = min(719 min / 1440, 720 / 1440) = 0.499306 days
    assert est.confidence_days == pytest.approx(719 / 1440)
    # upper: int(587 × (1 + 1/0.499306)) = int(587 × 3.002782) = int(1762.63) = 1762
    assert est.cpu_millicores.upper == 1762
    # lower: int(587 × (1 + 0.001/0.499306)^-2) = int(584.66) = 584
    assert est.cpu_millicores.lower == 584
    # memory: one peak of 314572800 B, bucket floor(ln(1 + 1.572864) / ln 1.05) = 19,
    # upper edge 1e7 × (1.05^20 − 1) / 0.05 = 330659541 → + int(0.15 ×) 49598931 = 380258472
    assert est.memory_bytes.target == 380_258_472
    rec = vpa.recommend(usage, POLICY)
    assert rec.cpu_request_cores == pytest.approx(0.587)
    assert rec.cpu_limit_cores is None  # original ratio unknown
    assert rec.memory_request_bytes == rec.memory_limit_bytes == 380_258_472


def test_vpa_minimums() -> None:
    # 2m CPU → upper edge of bucket 0 is 0.01 → 10m + 1m = 11m → raised to 25m;
    # 20 MiB memory → far below 250 MiB
    rec = vpa.recommend(constant("svc", samples=720, cpu=0.002, memory=20 * MiB), POLICY)
    assert rec.cpu_request_cores == pytest.approx(0.025)
    assert rec.memory_request_bytes == 250 * MiB


def test_vpa_upper_bound_narrows_with_more_history() -> None:
    short = vpa.estimate(constant("svc", samples=720, cpu=0.5, memory=300 * MiB))
    week = vpa.estimate(constant("svc", samples=7 * 1440, cpu=0.5, memory=300 * MiB))
    assert short.cpu_millicores.upper is not None and week.cpu_millicores.upper is not None
    # (1 + 1/0.4993) ≈ 3.0 after 12 h; (1 + 1/6.9993) ≈ 1.14 after a week
    assert week.cpu_millicores.upper == int(587 * (1 + 1 / week.confidence_days))
    assert week.cpu_millicores.upper < short.cpu_millicores.upper


# ---------------------------------------------------------------- Autopilot


def _five_minute_series(cpu: list[float]) -> UsageHistory:
    stamps = [i * 300 for i in range(len(cpu))]
    return history("svc", pod("svc-0", stamps, cpu, [1e8] * len(cpu)), interval_s=300)


def test_autopilot_load_adjusted_percentile() -> None:
    # 97 samples of 0.1 and 3 of 1.0, decay negligible (1-year half-life). By time, p95 is
    # 0.1; weighted by load, 1.0 carries 3 / (9.7 + 3) = 24 % of the work, so p95 is 1.0:
    # recommendation 1.0 × 1.1. Memory: max 1e8 × 1.1.
    series = _five_minute_series([0.1] * 50 + [1.0] * 3 + [0.1] * 47)
    rec = autopilot_mw.recommend(
        series, POLICY, autopilot_mw.AutopilotSettings(cpu_half_life_hours=8760)
    )
    assert rec.cpu_request_cores == pytest.approx(1.1)
    assert rec.cpu_limit_cores == pytest.approx(1.1)
    assert rec.memory_request_bytes == rec.memory_limit_bytes == 110_000_000


def test_autopilot_keeps_the_maximum_of_the_last_hour() -> None:
    # With a 36 s half-life each 5-minute recommendation sees, in effect, only its own
    # window. A spike 40 min before the end (window 135 of 0-143) is inside the last hour,
    # so the recommendation made then (1.0 × 1.1) still stands at the end.
    quick = autopilot_mw.AutopilotSettings(cpu_half_life_hours=0.01)
    spike_inside = [0.1] * 144
    spike_inside[135] = 1.0
    rec = autopilot_mw.recommend(_five_minute_series(spike_inside), POLICY, quick)
    assert rec.cpu_request_cores == pytest.approx(1.1)
    # The same spike 65 min before the end (window 130) is older than the hour: 0.1 × 1.1.
    spike_before = [0.1] * 144
    spike_before[130] = 1.0
    rec = autopilot_mw.recommend(_five_minute_series(spike_before), POLICY, quick)
    assert rec.cpu_request_cores == pytest.approx(0.11)


def test_autopilot_without_stabilisation_uses_the_last_recommendation() -> None:
    spike_inside = [0.1] * 144
    spike_inside[135] = 1.0
    settings = autopilot_mw.AutopilotSettings(cpu_half_life_hours=0.01, stabilisation_window_s=0)
    rec = autopilot_mw.recommend(_five_minute_series(spike_inside), POLICY, settings)
    assert rec.cpu_request_cores == pytest.approx(0.11)


# ---------------------------------------------------------------- static


def test_static_is_the_seed_default() -> None:
    rec = static.recommend("svc", 3)
    assert (rec.cpu_request_cores, rec.cpu_limit_cores) == (0.25, 0.5)
    assert (rec.memory_request_bytes, rec.memory_limit_bytes) == (512 * MiB, 1024 * MiB)
    assert rec.replicas == 3


# ---------------------------------------------------------------- nearest peer


def _peer(name: str, language: str | None, framework: str | None, rps: float) -> UsageHistory:
    meta = ServiceMeta(name=name, language=language, framework=framework)
    cpu = 0.01 * (1 + len(name))  # distinct sizes so the copy is recognisable
    return constant(name, samples=200, cpu=cpu, memory=(150 + len(name)) * MiB, rps=rps, meta=meta)


def test_nearest_peer_prefers_language_and_framework_then_closest_rps() -> None:
    target = ColdStartInput(
        meta=ServiceMeta(name="new", language="java", framework="spring-boot"),
        rps_p50_per_pod=10.0,
        rps_p95_per_pod=20.0,
        replicas=2,
    )
    far = _peer("far", "java", "spring-boot", 100.0)
    close = _peer("close", "java", "spring-boot", 12.0)
    go = _peer("go-same-rps", "go", "grpc", 10.0)
    lang = _peer("lang-only", "java", "quarkus", 10.0)
    assert nearest_peer.choose_peer(target, [far, close, go, lang]).service == "close"
    assert nearest_peer.choose_peer(target, [far, go, lang]).service == "far"
    assert nearest_peer.choose_peer(target, [go, lang]).service == "lang-only"
    rec = nearest_peer.recommend(target, [far, close, go, lang], POLICY)
    copied = krr_simple.recommend(close, POLICY)
    assert rec.service == "new" and rec.replicas == 2
    assert rec.cpu_request_cores == copied.cpu_request_cores
    assert rec.memory_request_bytes == copied.memory_request_bytes
    assert all(r.peers == ("close",) for r in rec.reasons)


def test_nearest_peer_never_picks_the_target_itself() -> None:
    target = ColdStartInput(meta=ServiceMeta(name="svc", language="go"), rps_p50_per_pod=5.0)
    own = _peer("svc", "go", None, 5.0)
    other = _peer("other", "python", None, 500.0)
    assert nearest_peer.choose_peer(target, [own, other]).service == "other"


def _percentile_by_window(
    values: np.ndarray, windows: np.ndarray, now: int, half_life_s: float, load: bool
) -> float:
    """The paper's statistic made from scratch at the end of window ``now``."""
    seen = windows <= now
    v = values[seen]
    w = np.exp2(-((now - windows[seen]) * autopilot_mw.WINDOW_S) / half_life_s)
    w = w * v if load else w
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    index = int(np.searchsorted(cumulative, 0.95 * cumulative[-1], side="left"))
    return float(v[order][min(index, len(v) - 1)])


@pytest.mark.parametrize("load", [True, False])
def test_autopilot_sorting_once_gives_each_windows_own_percentile(load: bool) -> None:
    rng = np.random.default_rng(3)
    windows = np.sort(rng.integers(0, 400, 2000))
    values = rng.lognormal(0, 1, 2000)
    values[::7] = 0.0  # idle samples weigh nothing when load-adjusted
    at = np.unique(windows[windows >= 388])
    got = autopilot_mw.decayed_percentiles(values, windows, at, 12 * 3600, 95, load_adjusted=load)
    want = [_percentile_by_window(values, windows, int(n), 12 * 3600, load) for n in at]
    assert got == want
