"""Splitting a service's samples into what a recommender sees and what it is scored on.

``rightsize``: the recommender sees the service's own samples from its first sample to
``first + H`` hours and is scored on the next 24 hours, or on what remains of the service's
samples if that is shorter but at least 4 hours; otherwise the service is skipped, with the
reason. ``cold-start``: the recommender sees none of the service's usage and is scored on all
of it. Windows are Unix seconds, start inclusive, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.sizing.models import UsageHistory

# Benchmark protocol, rightsize mode: scored on the next 24 h after the split, or on what
# remains if at least 4 h; shorter remainders are skipped.
SCORING_S = 24 * 3600
MIN_SCORING_S = 4 * 3600


@dataclass(frozen=True)
class Window:
    start: int
    end: int

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600


@dataclass(frozen=True)
class Split:
    """One service's history (what the recommender sees) and scoring samples."""

    history: UsageHistory
    scoring: UsageHistory
    history_window: Window
    scoring_window: Window


@dataclass(frozen=True)
class Skip:
    service: str
    reason: str


def split_rightsize(usage: UsageHistory, history_hours: float) -> Split | Skip:
    """History = [first, first + H h); scoring = the next 24 h or what remains (>= 4 h).

    "What remains" ends one sampling interval after the service's last sample
    (:attr:`UsageHistory.end`), so the last sample is scored.
    """
    if usage.samples == 0:
        return Skip(usage.service, "no samples")
    first = usage.start
    split = first + round(history_hours * 3600)
    remaining = usage.end - split
    if remaining < MIN_SCORING_S:
        left = max(remaining, 0) / 3600
        return Skip(usage.service, f"less than 4 h after the split ({left:.1f} h)")
    history_window = Window(first, split)
    scoring_window = Window(split, split + min(SCORING_S, remaining))
    scoring = usage.between(scoring_window.start, scoring_window.end)
    if scoring.samples == 0:
        return Skip(usage.service, "no samples in the scoring window (gap in the trace)")
    history = usage.between(history_window.start, history_window.end)
    return Split(history, scoring, history_window, scoring_window)


def cold_start_window(usage: UsageHistory) -> Window:
    """The whole trace of the service: first sample to one interval past the last."""
    return Window(usage.start, usage.end)
