"""The benchmark metrics of tools.sizing.scoring against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backtest.builders import pod
from tools.sizing.models import PodSeries
from tools.sizing.scoring import count_crossings, relative_slack, score, window_means


def test_window_means_align_to_multiples_of_300_s() -> None:
    # windows [0, 300) and [300, 600): (1 + 2 + 3) / 3 = 2 and (10 + 20) / 2 = 15;
    # a window without samples (600-900) produces nothing.
    stamps = np.array([0, 60, 120, 300, 360, 960], dtype=np.int64)
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 7.0])
    assert window_means(stamps, values).tolist() == [2.0, 15.0, 7.0]


def test_window_means_split_unaligned_samples_by_wall_clock() -> None:
    # 290 and 310 straddle the 300 s boundary, so they are two windows of one sample each.
    stamps = np.array([290, 310], dtype=np.int64)
    assert window_means(stamps, np.array([1.0, 3.0])).tolist() == [1.0, 3.0]


@pytest.mark.parametrize(
    ("values", "limit", "expected"),
    [
        ([1, 5, 5, 1, 5], 4, 2),  # rises at index 1 and at index 4; 5 → 5 is not a new event
        ([5, 1], 4, 1),  # starting above the limit is one event
        ([4, 4, 4], 4, 0),  # at the limit is not above it
        ([1, 2, 3], 4, 0),
    ],
)
def test_count_crossings(values: list[float], limit: float, expected: int) -> None:
    assert count_crossings(np.asarray(values, dtype=np.float64), limit) == expected


def test_relative_slack() -> None:
    assert relative_slack(2.0, 1.5) == pytest.approx(0.25)  # (2 − 1.5) / 2
    assert relative_slack(1.0, 1.5) == pytest.approx(-0.5)  # under-provisioned
    assert relative_slack(None, 1.0) is None
    assert relative_slack(0.0, 1.0) is None


def _one_pod() -> tuple[PodSeries, ...]:
    # ten samples 60 s apart from t = 0: window [0, 300) holds samples 0-4, [300, 600) 5-9
    stamps = [i * 60 for i in range(10)]
    cpu = [0.1] * 5 + [0.1, 0.5, 0.5, 0.1, 0.3]  # window means 0.1 and 0.3
    mem = [100.0] * 5 + [100.0, 300.0, 100.0, 300.0, 200.0]  # window means 100 and 200
    return (pod("a", stamps, cpu, mem),)


def test_score_one_pod_by_hand() -> None:
    m = score(_one_pod(), cpu_request=0.2, cpu_limit=0.5, mem_request=200.0, mem_limit=250.0)
    # p95 of 5-min CPU means [0.1, 0.3], linear: 0.1 + 0.95 × (0.3 − 0.1) = 0.29
    # cpu_slack = (0.2 − 0.29) / 0.2 = −0.45
    assert m.cpu_slack == pytest.approx(-0.45)
    # p95 of 5-min memory means [100, 200]: 100 + 0.95 × 100 = 195; (200 − 195) / 200 = 0.025
    assert m.mem_slack == pytest.approx(0.025)
    # max raw memory 300; (250 − 300) / 250 = −0.2
    assert m.mem_peak_slack == pytest.approx(-0.2)
    # memory goes above 250 at samples 6 and 8, falling back in between: two events
    assert m.oom_events == 2
    # saturation: CPU >= 0.9 × 0.5 = 0.45 in samples 6 and 7: 2 of 10
    assert m.cpu_saturated_share == pytest.approx(0.2)
    # over request: CPU > 0.2 in samples 6, 7 and 9: 3 of 10
    assert m.cpu_over_request_share == pytest.approx(0.3)


def test_score_without_limits() -> None:
    m = score(_one_pod(), cpu_request=0.2, cpu_limit=None, mem_request=200.0, mem_limit=None)
    assert m.mem_peak_slack is None
    assert m.oom_events == 0
    assert m.cpu_saturated_share == 0.0


def test_oom_events_are_counted_per_pod() -> None:
    # pod a ends above the 250 limit, pod b starts above it: two events, one per pod.
    # Joining the pods' samples end to end would wrongly see one continuous excursion.
    a = pod("a", [0, 60], [0.1, 0.1], [100.0, 300.0])
    b = pod("b", [0, 60], [0.1, 0.1], [300.0, 100.0])
    m = score((a, b), cpu_request=0.2, cpu_limit=None, mem_request=200.0, mem_limit=250.0)
    assert m.oom_events == 2


def test_pods_are_averaged_separately_then_pooled() -> None:
    # same 5-min window, two pods at 0.1 and 0.5: pooled window means [0.1, 0.5];
    # p95 = 0.1 + 0.95 × 0.4 = 0.48 (a cross-pod mean would give 0.3)
    a = pod("a", [0], [0.1], [1.0])
    b = pod("b", [0], [0.5], [1.0])
    m = score((a, b), cpu_request=0.6, cpu_limit=None, mem_request=1.0, mem_limit=None)
    assert m.cpu_slack == pytest.approx((0.6 - 0.48) / 0.6)


def test_score_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="empty window"):
        score((), cpu_request=0.1, cpu_limit=None, mem_request=1.0, mem_limit=None)
