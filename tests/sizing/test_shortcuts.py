"""The scoring and statistics shortcuts give numpy's own answers, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backtest.builders import history, pod
from tools.sizing.models import FloatArray, IntArray
from tools.sizing.scoring import WINDOW_S, percentile, window_means
from tools.sizing.stats import group_medians, linear_trend, window_series


def _samples(seed: int) -> list[FloatArray]:
    rng = np.random.default_rng(seed)
    out: list[FloatArray] = []
    for n in (1, 2, 3, 7, 72, 2016):
        out += [
            rng.lognormal(0, 2, n),
            rng.integers(0, 4, n).astype(np.float64),  # ties, zeros
            np.round(rng.random(n), 2) * 1e9,
            -rng.random(n),
        ]
    return out


@pytest.mark.parametrize("q", [0, 1, 33.3, 50, 90, 95, 95.0, 99.5, 100])
def test_percentile_is_numpys_linear_percentile(q: float) -> None:
    for values in _samples(0):
        assert percentile(values, q) == float(np.percentile(values, q))


def test_percentile_of_values_that_are_not_all_finite_is_numpys() -> None:
    cases = ([1.0, np.inf, 3.0], [-np.inf, 2.0], [np.inf], [1.0, np.nan, 3.0], [2.0, 5.0])
    with np.errstate(invalid="ignore"):
        got = [percentile(np.array(c), 95) for c in cases]
        want = [float(np.percentile(np.array(c), 95)) for c in cases]
    assert np.array_equal(got, want, equal_nan=True)
    assert np.isnan(got[3]) and got[4] == 4.85


def _trend_by_unique(stamps: IntArray, values: FloatArray) -> tuple[float, float]:
    """linear_trend as first written: hours from np.unique, medians after a lexsort."""
    keys = stamps // 3600
    uniq, inverse = np.unique(keys, return_inverse=True)
    medians = group_medians(values, inverse, len(uniq))
    hours = (uniq - uniq[0]).astype(np.float64) * 3600 / 3600.0
    slope, intercept = np.polyfit(hours, medians, 1)
    fitted = slope * hours + intercept
    total = float(np.sum((medians - medians.mean()) ** 2))
    r2 = 1.0 - float(np.sum((medians - fitted) ** 2)) / total if total > 0 else 0.0
    return float(slope), max(r2, 0.0)


def test_the_trend_of_one_pod_and_of_pods_in_turn_is_the_trend_np_unique_gives() -> None:
    rng = np.random.default_rng(4)
    stamps = np.cumsum(rng.choice([240, 300, 360, 3 * 3600], 400, p=[0.3, 0.4, 0.29, 0.01]))
    values = 100 + 0.5 * np.arange(400) + rng.normal(0, 20, 400)
    assert linear_trend(stamps, values) == _trend_by_unique(stamps, values)
    # two pods laid end to end: the hours are no longer in order
    twice, both = np.concatenate((stamps, stamps + 1800)), np.concatenate((values, values[::-1]))
    assert linear_trend(twice, both) == _trend_by_unique(twice, both)


def test_window_series_stamps_each_window_that_has_samples_in_order() -> None:
    rng = np.random.default_rng(5)
    stamps = np.cumsum(rng.choice([30, 60, 90, 1200], 500, p=[0.3, 0.4, 0.29, 0.01]))
    cpu = rng.random(500)
    usage = history("svc", pod("a", stamps.tolist(), cpu.tolist(), [1.0] * 500))
    got_stamps, got_means = window_series(usage.pods, memory=False)
    assert got_stamps.tolist() == (np.unique(stamps // WINDOW_S) * WINDOW_S).tolist()
    assert got_means.tolist() == window_means(stamps, cpu).tolist()
