"""History/scoring split of the rightsize mode and the cold-start window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.backtest.builders import constant, history, pod
from tools.backtest.windows import Skip, Split, cold_start_window, split_rightsize

HOUR = 3600


def test_split_boundaries_twelve_hours_then_twenty_four() -> None:
    usage = constant("svc", samples=40 * 60, cpu=0.1, memory=1.0, start=1000)  # 40 h, 60 s
    split = split_rightsize(usage, 12)
    assert isinstance(split, Split)
    assert (split.history_window.start, split.history_window.end) == (1000, 1000 + 12 * HOUR)
    assert (split.scoring_window.start, split.scoring_window.end) == (
        1000 + 12 * HOUR,
        1000 + 36 * HOUR,
    )
    hist_stamps = split.history.pods[0].timestamps
    score_stamps = split.scoring.pods[0].timestamps
    # the sample at exactly the split belongs to the scoring window, not the history
    assert hist_stamps[-1] == 1000 + 12 * HOUR - 60
    assert score_stamps[0] == 1000 + 12 * HOUR
    assert score_stamps[-1] == 1000 + 36 * HOUR - 60
    assert len(hist_stamps) == 720 and len(score_stamps) == 1440


def test_short_trace_scores_what_remains() -> None:
    # 919 samples at 60 s: the last at 918 min, so the service ends at 919 min = 15.32 h
    usage = constant("svc", samples=919, cpu=0.1, memory=1.0)
    split = split_rightsize(usage, 6)
    assert isinstance(split, Split)
    assert (split.scoring_window.start, split.scoring_window.end) == (6 * HOUR, 919 * 60)


def test_less_than_four_hours_after_the_split_is_skipped_with_a_reason() -> None:
    usage = constant("svc", samples=919, cpu=0.1, memory=1.0)  # 15.32 h − 12 h = 3.32 h left
    outcome = split_rightsize(usage, 12)
    assert isinstance(outcome, Skip)
    assert outcome.service == "svc"
    assert outcome.reason == "less than 4 h after the split (3.3 h)"


def test_exactly_four_hours_left_is_scored() -> None:
    usage = constant("svc", samples=16 * 60, cpu=0.1, memory=1.0)  # ends at exactly 16 h
    split = split_rightsize(usage, 12)
    assert isinstance(split, Split)
    assert split.scoring_window.hours == 4


def test_a_gap_over_the_whole_scoring_window_is_skipped() -> None:
    stamps = [i * 60 for i in range(12 * 60)] + [40 * HOUR]  # 12 h, then one sample at 40 h
    usage = history("svc", pod("svc-0", stamps, [0.1] * len(stamps), [1.0] * len(stamps)))
    outcome = split_rightsize(usage, 12)
    assert isinstance(outcome, Skip)
    assert "no samples in the scoring window" in outcome.reason


def test_cold_start_window_is_the_whole_trace() -> None:
    usage = constant("svc", samples=10, cpu=0.1, memory=1.0, start=500, interval_s=300)
    window = cold_start_window(usage)
    assert (window.start, window.end) == (500, 500 + 10 * 300)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=4 * HOUR), min_size=1, max_size=200),
    hours=st.floats(min_value=0.5, max_value=48, allow_nan=False),
)
def test_split_never_leaks_scoring_samples_into_history(gaps: list[int], hours: float) -> None:
    stamps = np.cumsum([0, *gaps]).tolist()
    usage = history("svc", pod("svc-0", stamps, [0.1] * len(stamps), [1.0] * len(stamps)))
    outcome = split_rightsize(usage, hours)
    if isinstance(outcome, Skip):
        assert usage.end - (usage.start + round(hours * HOUR)) < 4 * HOUR or (
            "no samples" in outcome.reason
        )
        return
    split_at = outcome.history_window.end
    assert outcome.scoring_window.start == split_at
    assert 4 * HOUR <= outcome.scoring_window.end - split_at <= 24 * HOUR
    assert all(t < split_at for p in outcome.history.pods for t in p.timestamps)
    scored = [t for p in outcome.scoring.pods for t in p.timestamps]
    assert scored and all(split_at <= t < outcome.scoring_window.end for t in scored)
    # nothing lost or duplicated inside the two windows
    inside = [t for t in stamps if t < outcome.scoring_window.end]
    assert outcome.history.samples + outcome.scoring.samples == len(inside)
