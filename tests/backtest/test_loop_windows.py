"""The replay's windowed recommenders size exactly as the plain ones do, window by window."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.backtest.builders import history, pod
from tools.backtest.loop import LoopSettings, loop_recommenders, run_loop
from tools.sizing.baselines import autopilot_mw, autopilot_windows, vpa, vpa_windows
from tools.sizing.models import Policy, UsageHistory
from tools.sizing.spans import Span
from tools.traces import load_trace

TRACE = Path(__file__).parents[1] / "prometheus" / "data" / "nezha-online-boutique"
MiB = 2**20
POLICY = Policy()


def _vm(days: int, seed: int) -> UsageHistory:
    """One VM as Bitbrains records it: ~300 s samples with jitter and a gap, CPU in a few
    steps (so many ties), memory drifting."""
    rng = np.random.default_rng(seed)
    n = days * 288
    steps = rng.choice([299, 300, 300, 301, 303], n)
    steps[n // 3] = 4 * 3600
    stamps = 1_700_000_123 + np.cumsum(steps)
    cpu = rng.choice([0.0, 0.05, 0.1, 0.2, 0.4, 1.6], n, p=[0.2, 0.3, 0.2, 0.15, 0.1, 0.05])
    memory = np.round((300 + np.cumsum(rng.normal(0, 2, n)).clip(-200, None)) * MiB)
    return history(
        "vm", pod("vm-0", stamps.tolist(), cpu.tolist(), memory.tolist()), interval_s=300
    )


def _usages() -> list[UsageHistory]:
    return [*load_trace(TRACE).usage.values(), _vm(9, 1), _vm(3, 2)]


def _ticks(usage: UsageHistory, lookback_s: int) -> list[tuple[int, int]]:
    """The windows a replay reads: each hour, the last ``lookback_s`` at most."""
    return [
        (max(usage.start, t - lookback_s), t) for t in range(usage.start + 3600, usage.end, 3600)
    ]


def _asked(usage: UsageHistory, ticks: list[tuple[int, int]]) -> list[Span]:
    """The ticks, and windows no tick had (as right after a kill), that hold samples."""
    odd = [(usage.start, usage.start + 61), (ticks[-1][0] + 7, ticks[-1][1] + 1234)]
    spans = [Span(usage, a, b) for a, b in [*ticks, *odd]]
    return [s for s in spans if s.history.samples]


@pytest.mark.parametrize("lookback_h", [6, 7 * 24])
def test_autopilot_over_many_windows_sizes_each_as_alone(lookback_h: int) -> None:
    for usage in _usages():
        ticks = _ticks(usage, lookback_h * 3600)
        windowed = autopilot_windows.Windowed(usage, windows=ticks)
        asked = _asked(usage, ticks)
        assert all(
            windowed.ahead(s) == (len(usage.pods) == 1 and (s.start, s.end) in ticks) for s in asked
        )
        for span in asked:
            assert windowed.recommend(span, POLICY) == autopilot_mw.recommend(span.history, POLICY)


@pytest.mark.parametrize("lookback_h", [6, 7 * 24])
def test_vpa_over_many_windows_estimates_each_as_alone(lookback_h: int) -> None:
    for usage in _usages():
        ticks = _ticks(usage, lookback_h * 3600)
        windowed = vpa_windows.Windowed(usage, windows=ticks)
        asked = _asked(usage, ticks)
        assert all(
            windowed.ahead(s) == (len(usage.pods) == 1 and (s.start, s.end) in ticks) for s in asked
        )
        for span in asked:
            assert windowed.estimate(span) == vpa.estimate(span.history)
            assert windowed.recommend(span, POLICY) == vpa.recommend(span.history, POLICY)


def test_a_share_landing_exactly_on_a_running_weight_is_read_as_the_window_alone_reads_it() -> None:
    # Twenty equal samples in one 5-minute window: 95 % of their weight is exactly nineteen
    # of them, so any rounding of the running weight could move the percentile.
    for cpu in (0.5, 0.1, 3.0):
        usage = history("svc", pod("svc-0", [k * 15 for k in range(20)], [cpu] * 20, [MiB] * 20))
        windowed = autopilot_windows.Windowed(usage, windows=[(0, 300), (0, 150)])
        for span in (Span(usage, 0, 300), Span(usage, 0, 150)):
            assert windowed.recommend(span, POLICY) == autopilot_mw.recommend(span.history, POLICY)


def test_the_replay_with_its_windowed_recommenders_gives_the_plain_replay() -> None:
    trace = load_trace(TRACE)
    settings = LoopSettings(check_every_s=4 * 3600, lookback_s=6 * 3600)
    recommenders = loop_recommenders(check_every_s=settings.check_every_s)
    plain = {name: replace(how, prepare=None) for name, how in recommenders.items()}
    assert any(how.prepare is not None for how in recommenders.values())
    fast = run_loop(trace, settings=settings, recommenders=recommenders)
    slow = run_loop(trace, settings=settings, recommenders=plain)
    assert fast.model_dump() == slow.model_dump()
