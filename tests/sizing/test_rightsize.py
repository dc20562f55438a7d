import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sizing.synthetic import MiB, history, noisy
from tools.sizing import rightsize
from tools.sizing.models import Policy
from tools.sizing.scoring import pooled_window_means

POLICY = Policy()


def test_flat_usage_requests_match_usage_and_limit_covers_peak() -> None:
    h = history(lambda t: np.full(len(t), 0.2), lambda t: np.full(len(t), 300 * MiB), 48)
    rec = rightsize.recommend(h, POLICY)
    assert rec.cpu_request_cores == pytest.approx(0.2)
    assert rec.memory_request_bytes == pytest.approx(300 * MiB, abs=1)
    # flat memory: volatility 0, 48 h history: margin 5 % + 5 % × sqrt(24/48) = 8.5 %,
    # less than the 96 MiB absolute headroom, which wins
    assert rec.memory_limit_bytes == 396 * MiB
    big = history(lambda t: np.full(len(t), 0.2), lambda t: np.full(len(t), 4096 * MiB), 48)
    big_rec = rightsize.recommend(big, POLICY)
    assert big_rec.memory_limit_bytes == pytest.approx(
        4096 * MiB * (1.05 + 0.05 * 0.5**0.5), rel=1e-6
    )
    assert rec.cpu_limit_cores is None  # default policy: no CPU limit
    assert rec.replicas == 1


def test_request_is_p95_of_five_minute_means() -> None:
    # a ramp: 5-min means are evenly spread, so the p95 is easy to compute directly
    h = history(lambda t: 0.1 + 0.01 * t, lambda t: 100 * MiB + t * 0, 24)
    settings_ = rightsize.RightsizeSettings(half_life_h=None)
    rec = rightsize.recommend(h, POLICY, settings_)
    expected = float(np.percentile(pooled_window_means(h.pods, memory=False), 95))
    assert rec.cpu_request_cores == pytest.approx(expected, rel=0.01)


def test_memory_growth_is_projected_forward() -> None:
    grow = history(lambda t: np.full(len(t), 0.1), lambda t: (200 + 5 * t) * MiB, 12)
    flat = history(lambda t: np.full(len(t), 0.1), lambda t: np.full(len(t), 230 * MiB), 12)
    rec_grow = rightsize.recommend(grow, POLICY)
    rec_flat = rightsize.recommend(flat, POLICY)
    # growing at 5 MiB/h: the request adds half the growth over 12 h, the limit all of it
    p95 = float(np.percentile(pooled_window_means(grow.pods, memory=True), 95))
    assert rec_grow.memory_request_bytes > p95 + 20 * MiB
    assert rec_grow.memory_limit_bytes > float(grow.concat("memory").max()) + 55 * MiB
    reason = rec_grow.reason("memory_request")
    assert reason is not None and "grows" in reason.text
    flat_reason = rec_flat.reason("memory_request")
    assert flat_reason is not None and "grows" not in flat_reason.text


def test_noisy_memory_is_not_mistaken_for_growth() -> None:
    h = history(lambda t: np.full(len(t), 0.1), noisy(200 * MiB, 50 * MiB, seed=3), 24)
    rec = rightsize.recommend(h, POLICY)
    reason = rec.reason("memory_request")
    assert reason is not None and "grows" not in reason.text


def test_limits_widen_when_history_is_short() -> None:
    def margin(hours: float) -> float:
        h = history(noisy(0.2, 0.1), noisy(300 * MiB, 60 * MiB, seed=1), hours)
        # relative margins only: the absolute headroom would hide them at this size
        rec = rightsize.recommend(h, POLICY, rightsize.RightsizeSettings(peak_headroom_bytes=0))
        assert rec.memory_limit_bytes is not None
        return rec.memory_limit_bytes / float(h.concat("memory").max()) - 1

    margins = [margin(hours) for hours in (2, 6, 12, 24, 72)]
    assert margins == sorted(margins, reverse=True)
    assert margins[0] > margins[-1] + 0.1


def test_confidence_grows_with_history() -> None:
    short = history(noisy(0.2, 0.1), noisy(300 * MiB, 10 * MiB), 6)
    long = history(noisy(0.2, 0.1), noisy(300 * MiB, 10 * MiB), 96)
    assert (
        rightsize.recommend(short, POLICY).confidence < rightsize.recommend(long, POLICY).confidence
    )


def test_spikes_raise_the_limit_not_the_request() -> None:
    def with_spike(t: np.ndarray) -> np.ndarray:
        values = np.full(len(t), 200 * MiB)
        values[len(t) // 2] = 500 * MiB  # one startup-like spike in one sample
        return values

    rec = rightsize.recommend(history(noisy(0.1, 0.01), with_spike, 24), POLICY)
    assert rec.memory_request_bytes < 210 * MiB
    assert rec.memory_limit_bytes is not None and rec.memory_limit_bytes > 500 * MiB


def test_equal_request_policy_puts_request_at_the_limit() -> None:
    h = history(noisy(0.1, 0.01), noisy(200 * MiB, 40 * MiB), 24)
    rec = rightsize.recommend(h, Policy(memory_limit="equal-request"))
    assert rec.memory_request_bytes == rec.memory_limit_bytes
    assert rec.memory_limit_bytes > float(h.concat("memory").max())


def test_burst_policy_sets_a_cpu_limit_above_every_burst() -> None:
    def bursty(t: np.ndarray) -> np.ndarray:
        values = np.full(len(t), 0.05)
        values[::97] = 0.6
        return values

    h = history(bursty, noisy(100 * MiB, 1 * MiB), 24)
    rec = rightsize.recommend(h, Policy(cpu_limit="burst"))
    assert rec.cpu_limit_cores is not None and rec.cpu_limit_cores >= 0.6 * 1.5
    assert rec.cpu_limit_cores >= 4 * rec.cpu_request_cores


def test_replicas_follow_pods_reporting_together() -> None:
    h = history(noisy(0.1, 0.01), noisy(100 * MiB, 1 * MiB), 12, pods=3)
    assert rightsize.recommend(h, POLICY).replicas == 3


def test_too_little_history_is_refused_with_a_reason() -> None:
    h = history(noisy(0.1, 0.01), noisy(100 * MiB, 1 * MiB), 0.2)
    with pytest.raises(rightsize.InsufficientHistory, match="five-minute windows"):
        rightsize.recommend(h, POLICY)


def test_every_number_has_a_reason() -> None:
    rec = rightsize.recommend(history(noisy(0.1, 0.05), noisy(100 * MiB, 9 * MiB), 12), POLICY)
    fields = {r.field for r in rec.reasons}
    assert {"cpu_request", "memory_request", "memory_limit", "cpu_limit", "replicas"} <= fields
    cpu = rec.reason("cpu_request")
    assert cpu is not None and cpu.value == rec.cpu_request_cores and "12.0 h" in cpu.window


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(min_value=0.01, max_value=100),
    level=st.floats(min_value=0.01, max_value=4),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_scaling_usage_scales_the_size(scale: float, level: float, seed: int) -> None:
    base = history(noisy(level, level / 2, seed), noisy(256 * MiB, 64 * MiB, seed), 12)
    scaled = history(
        lambda t: noisy(level, level / 2, seed)(t) * scale,
        lambda t: noisy(256 * MiB, 64 * MiB, seed)(t) * scale,
        12,
    )
    policy = Policy(min_cpu_cores=0.001, min_memory_bytes=2**20)
    relative = rightsize.RightsizeSettings(peak_headroom_bytes=0)
    a = rightsize.recommend(base, policy, relative)
    b = rightsize.recommend(scaled, policy, relative)
    if a.cpu_request_cores > 0.002 and b.cpu_request_cores > 0.002:
        assert b.cpu_request_cores == pytest.approx(a.cpu_request_cores * scale, rel=1e-6)
    assert b.memory_request_bytes == pytest.approx(a.memory_request_bytes * scale, rel=1e-3)
    assert a.memory_limit_bytes is not None and b.memory_limit_bytes is not None
    assert b.memory_limit_bytes == pytest.approx(a.memory_limit_bytes * scale, rel=1e-3)
    assert b.memory_limit_bytes >= b.memory_request_bytes
    assert math.isfinite(b.confidence)


@pytest.mark.parametrize(
    "policy", [Policy(), Policy(memory_limit="equal-request", cpu_limit="burst")]
)
def test_every_number_has_exactly_one_reason_whose_value_is_the_number(policy: Policy) -> None:
    usage = history(noisy(0.2, 0.1, seed=1), noisy(300 * MiB, 30 * MiB, seed=2), 12)
    rec = rightsize.recommend(usage, policy)
    fields = [r.field for r in rec.reasons]
    assert sorted(fields) == sorted(
        ["cpu_request", "memory_request", "memory_limit", "cpu_limit", "replicas", "confidence"]
    )
    by_field = {r.field: r for r in rec.reasons}
    assert by_field["cpu_request"].value == rec.cpu_request_cores
    assert by_field["cpu_limit"].value == rec.cpu_limit_cores
    assert math.ceil(by_field["memory_request"].value or 0) == rec.memory_request_bytes
    assert math.ceil(by_field["memory_limit"].value or 0) == rec.memory_limit_bytes
    assert by_field["confidence"].value == rec.confidence


def test_a_size_checked_again_sooner_follows_the_recent_hours_more_closely() -> None:
    base = rightsize.RightsizeSettings()
    six = base.holding_for(6)
    assert six.horizon_h == 6 and six.half_life_h == pytest.approx(3)
    assert rightsize.RightsizeSettings(half_life_h=None).holding_for(6).half_life_h is None
    # 10 h at 200m, then 14 h at 100m: the 6 h horizon follows the last hours, the day does not
    usage = history(
        lambda t: np.where(t < 10, 0.2, 0.1), lambda t: np.full(len(t), 100.0 * MiB), 24
    )
    day = rightsize.recommend(usage, Policy(), base)
    soon = rightsize.recommend(usage, Policy(), six)
    assert soon.cpu_request_cores < day.cpu_request_cores
