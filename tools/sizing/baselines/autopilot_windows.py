"""Autopilot's moving-window size for the windows of one service's usage a replay reads.

A closed-loop replay asks Autopilot for a size at every tick, each from the last days of
history: thousands of windows per service that overlap almost entirely. :class:`Windowed`
gives for each window named in advance what :func:`~.autopilot_mw.recommend` gives on the
window's history, to the last bit, for much less; any other window gets ``recommend``'s own
computation.

The windows are computed many at once. The CPU values are sorted once over the whole usage,
and each window keeps its samples in that order, the order sorting them would give (ties in
time order). Each window's load-adjusted weights, accumulated in that order, are its last
evaluation's running weight: that evaluation has seen every sample. The earlier evaluations
of the last hour miss the few samples after theirs, so their running weight is the last one's
minus what they missed. That difference rounds differently from the sum an evaluation makes
itself, but by at most about n·2^-53 of the total for n non-negative terms (Higham, "Accuracy
and Stability of Numerical Algorithms", 2nd ed., 2002, sec. 4.2): where the percentile's share
of the total falls farther than that from the running weight on both sides of where it is
reached, it is reached at the same sample; where it does not, the evaluation's own sum decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.sizing.baselines.autopilot_mw import (
    WINDOW_S,
    AutopilotSettings,
    decay,
    proposal,
    window_statistics,
)
from tools.sizing.models import FloatArray, IntArray, Policy, Recommendation, UsageHistory
from tools.sizing.spans import Proposal, Span

# Windows computed in one pass: bounds the memory a pass takes.
CHUNK = 64
# Double precision rounds each operation to within this share of its result.
UNIT_ROUNDOFF = 2.0**-53

Window = tuple[int, int]
# The number of evaluations in the last T_stable, and the largest CPU and memory statistic.
Statistics = tuple[int, float, float]


class Windowed:
    """:func:`~.autopilot_mw.recommend` for windows of one service's usage.

    ``windows`` ([start, end) pairs) are the ones a replay will ask for; they are computed
    together up front when the usage is one pod's, in time order, with finite samples and no
    negative CPU (as a loaded trace's are).
    """

    def __init__(
        self,
        usage: UsageHistory,
        settings: AutopilotSettings | None = None,
        windows: Sequence[Window] = (),
    ) -> None:
        self.settings = s = settings or AutopilotSettings()
        self._known: dict[Window, Statistics] = {}
        pods = usage.pods
        if len(pods) != 1 or s.memory_percentile is not None or not len(pods[0]):
            return
        pod = pods[0]
        finite = np.isfinite(pod.cpu_cores).all() and np.isfinite(pod.memory_bytes).all()
        if not finite or pod.cpu_cores.min() < 0 or (np.diff(pod.timestamps) <= 0).any():
            return
        self.stamps, self.cpu, self.memory = pod.timestamps, pod.cpu_cores, pod.memory_bytes
        self.windows: IntArray = self.stamps // WINDOW_S
        self.order: IntArray = np.argsort(self.cpu, kind="stable")
        ages = np.arange(int(self.windows[-1] - self.windows[0]) + 1, dtype=np.int64)
        self.decay = decay(-ages, 0, s.cpu_half_life_hours * 3600)  # by age in windows
        ordered = sorted(set(windows))
        for k in range(0, len(ordered), CHUNK):
            self._known.update(self._together(ordered[k : k + CHUNK]))

    def recommend(self, span: Span, policy: Policy) -> Recommendation:
        return self.propose(span, policy).make()

    def ahead(self, span: Span) -> bool:
        """Whether ``span`` was computed up front, with the other windows named."""
        return (span.start, span.end) in self._known

    def propose(self, span: Span, policy: Policy) -> Proposal:
        """The size :meth:`recommend` gives, its recommendation made only when asked for."""
        s = self.settings
        known = self._known.get((span.start, span.end))
        if known is None:
            return proposal(span.history, policy, s, *window_statistics(span.history, s))
        evaluations, cpu, memory = known
        # only the largest statistic of each makes the size (multiplying by the margin keeps
        # the order of any two numbers)
        return proposal(lambda: span.history, policy, s, evaluations, [cpu], [memory])

    def _together(self, windows: list[Window]) -> dict[Window, Statistics]:
        """The statistics of ``windows``, those with samples, at once."""
        stamps, wins = self.stamps, self.windows
        lo = stamps.searchsorted([a for a, _ in windows])
        hi = stamps.searchsorted([b for _, b in windows])
        chosen = (hi > lo).nonzero()[0]
        if not len(chosen):
            return {}
        lo, hi = lo[chosen], hi[chosen]
        last = wins[hi - 1]  # the latest evaluation of each window
        evaluations, at, late, which = self._evaluations(lo, hi, last)
        cpu = self._cpu(lo, hi, last, at, late, which, evaluations)
        # a window's memory statistic: the largest sample (every evaluation's is at most it)
        bounds = np.column_stack((lo, hi)).ravel()
        memory = np.maximum.reduceat(np.append(self.memory, 0.0), bounds)[::2]
        return {
            windows[k]: (int(e), c, m)
            for k, e, c, m in zip(chosen.tolist(), evaluations, cpu, memory.tolist(), strict=True)
        }

    def _evaluations(
        self, lo: IntArray, hi: IntArray, last: IntArray
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Per window: how many evaluations the last T_stable holds, each one's 5-minute
        window (``at``, the last repeated to fill the row), the position of each sample after
        the first evaluation's window (``late``, -1 to fill) and the evaluation it falls in."""
        wins = self.windows
        span = max(self.settings.stabilisation_window_s // WINDOW_S - 1, 0)
        tail = np.maximum(wins.searchsorted(last - span), lo)
        at_position = tail[:, None] + np.arange(int((hi - tail).max()))
        inside = at_position < hi[:, None]
        tail_windows = wins[np.minimum(at_position, len(wins) - 1)]
        new = inside.copy()
        new[:, 1:] &= tail_windows[:, 1:] != tail_windows[:, :-1]
        which = new.cumsum(axis=1) - 1
        evaluations = new.sum(axis=1)
        at = np.repeat(last[:, None], int(evaluations.max()), axis=1)
        rows, cols = new.nonzero()
        at[rows, which[rows, cols]] = tail_windows[rows, cols]
        is_late = inside & (which > 0)
        late = np.where(is_late, at_position, -1)
        return evaluations, at, late, np.where(is_late, which, 0)

    def _cpu(
        self,
        lo: IntArray,
        hi: IntArray,
        last: IntArray,
        at: IntArray,
        late: IntArray,
        which: IntArray,
        evaluations: IntArray,
    ) -> list[float]:
        """Each window's largest CPU statistic over its evaluations."""
        share = self.settings.cpu_percentile / 100
        first, end = int(lo.min()), int(hi.max())
        order = self.order[(self.order >= first) & (self.order < end)]  # in value order
        columns = len(order)
        column_of = np.empty(end - first, dtype=np.int64)
        column_of[order - first] = np.arange(columns)
        values, value_windows = self.cpu[order], self.windows[order]
        rows = np.arange(len(lo))
        kept = (order >= lo[:, None]) & (order < hi[:, None])
        age = np.clip(last[:, None] - value_windows, 0, len(self.decay) - 1)
        weights = np.where(kept, self.decay[age] * values, 0.0)
        full = weights.cumsum(axis=1)  # each window's last evaluation's running weight
        total = full[:, -1]

        # the late samples of each window in value order, `columns` to fill
        late_column = np.where(late >= 0, column_of[np.maximum(late - first, 0)], columns)
        by_column = np.argsort(late_column, axis=1, kind="stable")
        late_column = np.take_along_axis(late_column, by_column, axis=1)
        which = np.take_along_axis(which, by_column, axis=1)
        late_weight = weights[rows[:, None], np.minimum(late_column, columns - 1)]
        late_weight = np.where(late_column < columns, late_weight, 0.0)
        # before[k, r, s]: what evaluation r missed among the first s late samples; between
        # late samples s − 1 and s its running weight is full − before[k, r, s]
        evaluation = np.arange(at.shape[1])
        missed = (which[:, None, :] > evaluation[None, :, None]) * late_weight[:, None, :]
        before = np.zeros((*missed.shape[:2], missed.shape[2] + 1))
        missed.cumsum(axis=2, out=before[:, :, 1:])
        thresholds = share * (total[:, None] - before[:, :, -1])
        starts = np.concatenate((np.zeros((len(lo), 1), dtype=np.int64), late_column), axis=1)
        ends = np.concatenate((late_column, np.full((len(lo), 1), columns)), axis=1)
        targets = thresholds[:, :, None] + before
        stops = np.stack([full[k].searchsorted(targets[k]) for k in rows.tolist()])
        stops = np.maximum(stops, starts[:, None, :])
        found = stops < ends[:, None, :]
        first_found = found.argmax(axis=2)[:, :, None]
        stop = np.minimum(np.take_along_axis(stops, first_found, axis=2)[:, :, 0], columns - 1)

        def running(position: IntArray) -> FloatArray:
            """Evaluation r's running weight at ``position`` as full minus what it missed."""
            segment = (late_column[:, None, :] <= position[:, :, None]).sum(axis=2)
            missed_by_then = np.take_along_axis(before, segment[:, :, None], axis=2)[:, :, 0]
            return np.asarray(full[rows[:, None], position] - missed_by_then, dtype=np.float64)

        slack = (16 * (columns + 1) * UNIT_ROUNDOFF * total)[:, None]
        sure = (
            found.any(axis=2)
            & (thresholds > slack)
            & (running(stop) - thresholds > slack)
            & ((stop == 0) | (thresholds - running(np.maximum(stop - 1, 0)) > slack))
        )
        statistic = values[stop]
        for k, r in zip(*(~sure).nonzero(), strict=True):
            if r < evaluations[k]:
                seen = np.where(value_windows <= at[k, r], weights[k], 0.0)
                statistic[k, r] = _own_percentile(values, seen, share)
        return [
            max(row[:n]) for row, n in zip(statistic.tolist(), evaluations.tolist(), strict=True)
        ]


def _own_percentile(ordered: FloatArray, seen: FloatArray, share: float) -> float:
    """The first value whose running weight, summed in value order, reaches ``share`` of the
    total (0 when nothing weighs): how :func:`~.autopilot_mw.decayed_percentiles` reads it."""
    cumulative = seen.cumsum()
    total = cumulative[-1]
    if not total > 0:
        return 0.0
    return float(ordered[min(int((cumulative >= share * total).argmax()), len(ordered) - 1)])
