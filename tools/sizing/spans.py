"""What a closed-loop replay hands a recommender at a tick, and what it may hand back.

A replay asks the continuous recommenders for a size at every tick, each from the last days
of one service's usage: thousands of windows per service that overlap almost entirely. A
:class:`Span` names such a window by its bounds, so a recommender that computed the replay's
windows together (:mod:`.baselines.autopilot_windows`, :mod:`.baselines.vpa_windows`) can
find its answer without cutting the window; a :class:`Proposal` is a size whose
recommendation is written only if the replay applies it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from tools.sizing.models import Recommendation, UsageHistory
from tools.sizing.scoring import percentile, pooled_window_means


@dataclass(frozen=True)
class Span:
    """The samples of one service's usage with ``start <= timestamp < end``."""

    whole: UsageHistory
    start: int
    end: int

    @cached_property
    def history(self) -> UsageHistory:
        """``whole.between(start, end)``, cut when first read (a recommender that computed
        the window beforehand may never need it)."""
        return self.whole.between(self.start, self.end)

    @cached_property
    def five_minute_p95(self) -> tuple[int, float, float]:
        """How many 5-minute windows the span's pods hold, and the p95 of their CPU and of
        their memory means (NaN without any): what scoring a size on the span starts from,
        made once however many sizes are scored."""
        cpu5 = pooled_window_means(self.history.pods, memory=False)
        if not len(cpu5):
            return 0, math.nan, math.nan
        mem5 = pooled_window_means(self.history.pods, memory=True)
        return len(cpu5), percentile(cpu5, 95), percentile(mem5, 95)


@dataclass(frozen=True)
class Proposal:
    """A size's numbers, and how to make its recommendation (whose reasons cost more to write
    than the numbers to compute) for when the size is applied: a replay re-sizes at every tick
    and applies few of the sizes."""

    cpu_request_cores: float
    cpu_limit_cores: float | None
    memory_request_bytes: int
    memory_limit_bytes: int | None
    make: Callable[[], Recommendation]
