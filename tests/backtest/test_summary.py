"""Per-recommender aggregates, checked on three hand-made services."""

from __future__ import annotations

import pytest

from tools.backtest.results import ScoredRecommendation, ServiceResult, WindowModel
from tools.backtest.summary import meets_goals, summarise
from tools.sizing.baselines import static
from tools.sizing.scoring import SizeMetrics


def _service(name: str, metrics: SizeMetrics) -> ServiceResult:
    rec = ScoredRecommendation.of(static.recommend(name), 1, metrics)
    return ServiceResult(
        service=name, pods=1, window=WindowModel(start=0, end=1), recommenders={"r": rec}
    )


def _m(cpu: float | None, mem: float, peak: float | None, oom: int, sat: float) -> SizeMetrics:
    return SizeMetrics(
        cpu_slack=cpu,
        mem_slack=mem,
        mem_peak_slack=peak,
        oom_events=oom,
        cpu_saturated_share=sat,
        cpu_over_request_share=0.0,
    )


def test_summary_by_hand() -> None:
    services = [
        _service("a", _m(0.05, -0.08, 0.2, 0, 0.0)),  # meets every goal
        _service("b", _m(-0.30, 0.50, None, 2, 0.02)),  # under-sized CPU, OOMs, saturated
        _service("c", _m(None, 0.10, 0.4, 0, 0.009)),  # no CPU request: undefined slack
    ]
    s = summarise(services, "r")
    assert s.services == 3
    # cpu slack over the defined values [0.05, −0.30]: median = mean = −0.125
    assert s.median_cpu_slack == pytest.approx(-0.125)
    assert s.mean_cpu_slack == pytest.approx(-0.125)
    # mem slack [−0.08, 0.50, 0.10]: median 0.10, mean 0.52 / 3
    assert s.median_mem_slack == pytest.approx(0.10)
    assert s.mean_mem_slack == pytest.approx(0.52 / 3)
    # |cpu| [0.05, 0.30] → 0.175; |mem| [0.08, 0.50, 0.10] → 0.10
    assert s.median_abs_cpu_slack == pytest.approx(0.175)
    assert s.median_abs_mem_slack == pytest.approx(0.10)
    # peak slack [0.2, 0.4]
    assert s.median_mem_peak_slack == pytest.approx(0.3)
    assert s.oom_events_total == 2
    assert s.zero_oom_share == pytest.approx(2 / 3)
    assert s.unsaturated_share == pytest.approx(2 / 3)  # 0.009 < 1 %, 0.02 is not
    assert s.all_goals_share == pytest.approx(1 / 3)  # only "a"


def test_goal_edges() -> None:
    assert meets_goals(_m(0.10, -0.10, None, 0, 0.0))  # exactly 10 % is within the goal
    assert not meets_goals(_m(0.1001, 0.0, None, 0, 0.0))
    assert not meets_goals(_m(0.0, 0.0, None, 0, 0.01))  # 1 % saturated is not < 1 %
    assert not meets_goals(_m(0.0, 0.0, None, 1, 0.0))


def test_summary_of_nothing() -> None:
    s = summarise([], "r")
    assert s.services == 0 and s.median_cpu_slack is None and s.all_goals_share is None
