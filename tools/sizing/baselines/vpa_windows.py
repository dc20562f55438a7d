"""VPA's estimate for the windows of one service's usage a replay reads, many at once.

A closed-loop replay asks VPA's updater and recommender for an estimate at every tick, each
from the last days of history: thousands of windows per service that overlap almost entirely.
:class:`Windowed` gives for each what :func:`~.vpa.estimate` gives on the window's history, to
the last bit, for much less. Each CPU sample's bucket is found once, and its decay weight once
per reference time. The windows named in advance (a replay's ticks) are estimated together,
their histograms filled by one ``bincount``: each bin sums the same weights in the same order
as the window's own histogram, and is read by the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tools.sizing.baselines.vpa import (
    CPU_MAX_CORES,
    MAX_DECAY_EXPONENT,
    MEMORY_FIRST_BUCKET_BYTES,
    MEMORY_MAX_BYTES,
    MEMORY_PEAK_WEIGHT,
    MIN_SAMPLE_WEIGHT,
    SAMPLES_PER_CONFIDENCE_DAY,
    Bounds,
    ExponentialBuckets,
    VpaEstimate,
    VpaSettings,
    estimate,
    estimate_bounds,
    recommend,
)
from tools.sizing.models import FloatArray, IntArray, Policy, Recommendation, UsageHistory
from tools.sizing.spans import Span

# Windows estimated in one pass: bounds the memory a pass takes.
CHUNK = 64

Window = tuple[int, int]


class Windowed:
    """:func:`~.vpa.estimate` and :func:`~.vpa.recommend` for windows of one service's usage.

    ``windows`` ([start, end) pairs) are the ones a replay will ask for; they are estimated
    together up front when the usage is one pod's, in time order, with finite samples (as a
    loaded trace's are). The last estimate asked for is kept, for VPA's updater and
    recommender read it in turn.
    """

    def __init__(
        self,
        usage: UsageHistory,
        settings: VpaSettings | None = None,
        windows: Sequence[Window] = (),
    ) -> None:
        self.settings = s = settings or VpaSettings()
        self._last: tuple[Span, VpaEstimate] | None = None  # held by reference, not by id
        self._known: dict[Window, VpaEstimate] = {}
        self._seen_bounds: dict[tuple[float, ...], Bounds] = {}  # at most two per window
        if len(usage.pods) != 1 or not len(pod := usage.pods[0]):
            return
        finite = np.isfinite(pod.cpu_cores).all() and np.isfinite(pod.memory_bytes).all()
        if not finite or (np.diff(pod.timestamps) <= 0).any():
            return
        self.pod = pod
        self.cpu_buckets = ExponentialBuckets(CPU_MAX_CORES, s.cpu_first_bucket_cores)
        self.mem_buckets = ExponentialBuckets(MEMORY_MAX_BYTES, MEMORY_FIRST_BUCKET_BYTES)
        self.cpu_index = self.cpu_buckets.find(self.pod.cpu_cores)
        self._weights: tuple[float, FloatArray] | None = None  # reference, every sample's
        ordered = sorted(set(windows))
        for k in range(0, len(ordered), CHUNK):
            self._known.update(self._together(ordered[k : k + CHUNK]))

    def estimate(self, span: Span) -> VpaEstimate:
        if self._last is not None and self._last[0] is span:
            return self._last[1]
        est = self._known.get((span.start, span.end))
        if est is None:
            est = estimate(span.history, self.settings)
        self._last = (span, est)
        return est

    def recommend(self, span: Span, policy: Policy) -> Recommendation:
        return recommend(span.history, policy, self.settings, known=self.estimate(span))

    def ahead(self, span: Span) -> bool:
        """Whether ``span`` was computed up front, with the other windows named."""
        return (span.start, span.end) in self._known

    def _every_weight(self, reference: float) -> FloatArray:
        """Every sample's CPU weight from ``reference``, as :func:`~.vpa.estimate` makes it
        (the last reference's are kept: consecutive windows mostly share theirs)."""
        if self._weights is None or self._weights[0] != reference:
            half_life = self.settings.cpu_half_life_hours * 3600
            stamps = self.pod.timestamps.astype(np.float64)
            self._weights = (
                reference,
                MIN_SAMPLE_WEIGHT * np.exp2((stamps - reference) / half_life),
            )
        return self._weights[1]

    def _together(self, windows: list[Window]) -> dict[Window, VpaEstimate]:
        """:meth:`estimate` of ``windows`` of the one pod, those with samples, at once."""
        s = self.settings
        stamps, memory = self.pod.timestamps, self.pod.memory_bytes
        cpu_life, mem_life = s.cpu_half_life_hours * 3600, s.memory_half_life_hours * 3600
        interval = int(s.memory_aggregation_hours * 3600)
        los = stamps.searchsorted([a for a, _ in windows]).tolist()
        his = stamps.searchsorted([b for _, b in windows]).tolist()
        # (window, first and past-last position, the CPU weights' reference time), for the
        # windows with samples whose weights need no rescaling (decay_weights' far future)
        chosen: list[tuple[Window, int, int, float]] = []
        for window, lo, hi in zip(windows, los, his, strict=True):
            if hi == lo:
                continue  # no sample: estimate() says so when asked
            first, last = int(stamps[lo]), int(stamps[hi - 1])
            cpu_ref = math.floor(first / cpu_life + 0.5) * cpu_life
            peak_end = first + ((last - first) // interval + 1) * interval
            mem_ref = math.floor((first + interval) / mem_life + 0.5) * mem_life
            if max((last - cpu_ref) / cpu_life, (peak_end - mem_ref) / mem_life) <= (
                MAX_DECAY_EXPONENT * 10
            ):
                chosen.append((window, lo, hi, cpu_ref))
        if not chosen:
            return {}
        lo = np.array([c[1] for c in chosen])
        hi = np.array([c[2] for c in chosen])
        rows = np.arange(len(chosen))

        # CPU: every sample of each window, into that window's row of histograms
        index = np.concatenate([self.cpu_index[c[1] : c[2]] for c in chosen])
        weights = np.concatenate([self._every_weight(c[3])[c[1] : c[2]] for c in chosen])
        wanted = (s.target_percentile, s.lower_bound_percentile, s.upper_bound_percentile)
        cpu_hist = _histograms(
            self.cpu_buckets, np.repeat(rows, hi - lo), index, weights, len(chosen)
        )
        cpu_p = _percentiles(self.cpu_buckets, cpu_hist, wanted)

        # memory: one peak per aggregation interval from each window's first sample
        first = stamps[lo]
        spanned = (stamps[hi - 1] - first) // interval + 1
        owner = np.repeat(rows, spanned)
        nth = np.arange(int(spanned.sum())) - np.repeat(np.cumsum(spanned) - spanned, spanned)
        begin = first[owner] + nth * interval
        start = stamps.searchsorted(begin)
        stop = np.minimum(stamps.searchsorted(begin + interval), hi[owner])
        present = stop > start
        owner, ends = owner[present], (begin + interval)[present]
        # [start, stop) pairs back to back: every other reduction is one interval's peak
        bounds = np.column_stack((start[present], stop[present])).ravel()
        peaks = np.maximum.reduceat(np.append(memory, 0.0), bounds)[::2]
        ends_ref = np.floor((first + interval) / mem_life + 0.5) * mem_life
        mem_weights = MEMORY_PEAK_WEIGHT * np.exp2(
            (ends.astype(np.float64) - ends_ref[owner]) / mem_life
        )
        mem_hist = _histograms(
            self.mem_buckets, owner, self.mem_buckets.find(peaks), mem_weights, len(chosen)
        )
        mem_p = _percentiles(self.mem_buckets, mem_hist, wanted)
        count = np.bincount(owner, minlength=len(chosen)).tolist()

        known: dict[Window, VpaEstimate] = {}
        for k, (window, a, b, _) in enumerate(chosen):
            days = (int(stamps[b - 1]) - int(stamps[a])) / 86400
            confidence = min(days, (b - a) / SAMPLES_PER_CONFIDENCE_DAY)
            known[window] = VpaEstimate(
                cpu_millicores=self._bounds(cpu_p[k], confidence, s.pod_min_cpu_millicores, 1e3),
                memory_bytes=self._bounds(mem_p[k], confidence, s.pod_min_memory_bytes, 1.0),
                confidence_days=confidence,
                memory_peaks=count[k],
            )
        return known

    def _bounds(
        self, percentile_of: dict[float, float], confidence: float, minimum: int, to_amount: float
    ) -> Bounds:
        """:func:`~.vpa.estimate_bounds`, once per distinct input (most ticks repeat one)."""
        key = (*percentile_of.values(), confidence, minimum, to_amount)
        if key not in self._seen_bounds:
            self._seen_bounds[key] = estimate_bounds(
                percentile_of, self.settings, confidence, minimum, to_amount
            )
        return self._seen_bounds[key]


def _histograms(
    buckets: ExponentialBuckets, owner: IntArray, index: IntArray, weights: FloatArray, rows: int
) -> FloatArray:
    """One histogram a row: ``weights`` added in order into bucket ``index`` of row ``owner``."""
    n = buckets.num_buckets
    flat = np.bincount(owner * n + index, weights=weights, minlength=rows * n)
    return np.asarray(flat.reshape(rows, n), dtype=np.float64)


def _percentiles(
    buckets: ExponentialBuckets, hist: FloatArray, wanted: tuple[float, ...]
) -> list[dict[float, float]]:
    """:meth:`~.vpa.ExponentialBuckets.percentiles` of each row of ``hist``: the running weight
    from the first heavy bucket, the first bucket before the last heavy one to reach each share
    of the row's total (the last heavy one if none does)."""
    n = hist.shape[1]
    heavy = hist >= buckets.epsilon
    lo = heavy.argmax(axis=1)
    hi = n - 1 - heavy[:, ::-1].argmax(axis=1)
    totals = np.array([row.sum() for row in hist])  # each row summed as one histogram is
    buckets_at = np.arange(n)
    running = np.where(buckets_at >= lo[:, None], hist, 0.0).cumsum(axis=1)
    reached = (running[:, None, :] >= (totals[:, None] * np.array(wanted))[:, :, None]) & (
        buckets_at < hi[:, None, None]
    )
    chosen = np.where(reached.any(axis=2), reached.argmax(axis=2), hi[:, None]).tolist()
    found_any: list[bool] = (heavy.sum(axis=1) > 0).tolist()
    out: list[dict[float, float]] = []
    for row, found in zip(chosen, found_any, strict=True):
        out.append(
            {
                p: (buckets.start(b + 1) if b < n - 1 else buckets.start(b)) if found else 0.0
                for p, b in zip(wanted, row, strict=True)
            }
        )
    return out
