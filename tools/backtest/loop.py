"""Closed-loop replay: launch from the cold-start size, then react and re-size as in real life.

Every service starts at its first sample from its leave-one-out cold-start size (the same
for every recommender, so the comparison is about what each does after launch) and is
replayed sample by sample over the whole trace:

- a kill is a raw memory sample above the limit in force (counted per pod as a crossing, as
  in the benchmark); a recommender that reacts to kills changes the size right after it;
- at every check (``check_every`` after launch, then again every ``check_every``) a
  recommender that runs at checks re-sizes from the service's own history so far (Sizer only
  when the period just ended missed a goal, as the bot's checks do);
- a continuous recommender re-sizes at every ``tick`` from the history so far.

How each recommender runs is what it does in a cluster: Sizer raises the limit after a kill
(:mod:`tools.sizing.oom`) and right-sizes at a check that missed a goal, for a size that
holds until the next check; VPA's recommender and Autopilot's
moving window run continuously and react to kills; KRR is a report, applied at each check
and blind to kills in between. VPA's updater evicts a pod only when its requests fall outside
the recommender's [lower bound, upper bound] (or after a kill); for the others a new size is
applied when a request or limit moves by more than ``min_change`` or the memory limit rises.
Each applied change is a resize. Recommenders read at most ``lookback`` of history. VPA and
Autopilot are computed for all of a service's ticks at once before its replay
(:mod:`tools.sizing.baselines.vpa_windows`, :mod:`~tools.sizing.baselines.autopilot_windows`),
to the same sizes as one at a time.

After the first check, each check period is scored on the time-weighted mean request in
force against the p95 of its 5-minute usage (the benchmark's slack); a service's slack is
the median over its periods.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from tools.backtest.runner import rps_percentiles
from tools.sizing import coldstart, rightsize
from tools.sizing.baselines import autopilot_mw, autopilot_windows, krr_simple, vpa, vpa_windows
from tools.sizing.goals import Goals
from tools.sizing.models import Policy, Recommendation, UsageHistory
from tools.sizing.oom import OomRaiseSettings, raise_after_oom
from tools.sizing.profiles import PeerProfile, profile_from_history
from tools.sizing.rightsize import RightsizeSettings, format_time
from tools.sizing.scoring import pooled_window_means, relative_slack, score
from tools.sizing.spans import Proposal, Span
from tools.traces import Trace

Reaction = Literal["raise", "recompute", "wait"]
Resize = Callable[[UsageHistory, Policy], Recommendation]
# Whether to re-size now: the size in force, what the recommender reads, the period just ended.
Admit = Callable[[Recommendation, UsageHistory, UsageHistory], bool]


@dataclass(frozen=True)
class Prepared:
    """A recommender made for one service's whole usage, reading spans of it: ``resize`` and
    ``admit`` give what the plain ones give on the spans' histories, with what does not change
    between ticks computed once."""

    resize: Callable[[Span, Policy], Recommendation | Proposal]
    admit: Callable[[Recommendation, Span, Span], bool] | None = None


# A check period is scored only with at least an hour of 5-minute windows.
MIN_PERIOD_WINDOWS = 12


class LoopSettings(BaseModel):
    """Timing of the loop; every field is bounded."""

    model_config = ConfigDict(frozen=True)

    check_every_s: int = Field(6 * 3600, ge=300, le=30 * 86400, description="check period")
    tick_s: int = Field(
        3600, ge=60, le=86400, description="how often continuous recommenders re-size"
    )
    lookback_s: int = Field(
        7 * 86400, ge=3600, le=365 * 86400, description="history a recommender reads at most"
    )
    min_change: float = Field(
        0.10, ge=0, le=1, description="relative change below which a new size is not applied"
    )


@dataclass(frozen=True)
class LoopRecommender:
    """How one recommender runs in the loop."""

    resize: Resize
    continuous: bool
    on_kill: Reaction
    admit: Admit | None = None  # None: re-size at every check or tick
    # Apply a new size only when it moves by more than min_change (VPA's updater applies
    # the whole target whenever it evicts).
    min_change: bool = True
    # The same resize and admit, made once per service for the windows [start, end) the
    # replay will read at its checks and ticks (None: call them as they are).
    prepare: Callable[[UsageHistory, Sequence[tuple[int, int]]], Prepared] | None = None

    def prepared(self, usage: UsageHistory, windows: Sequence[tuple[int, int]]) -> Prepared:
        if self.prepare is not None:
            return self.prepare(usage, windows)
        resize, admit = self.resize, self.admit
        return Prepared(
            lambda span, policy: resize(span.history, policy),
            None
            if admit is None
            else lambda current, span, period: admit(current, span.history, period.history),
        )


def _krr(history: UsageHistory, policy: Policy) -> Recommendation:
    return krr_simple.recommend(history, policy)


def _outside(value: float, bounds: vpa.Bounds) -> bool:
    return value < bounds.lower or (bounds.upper is not None and value > bounds.upper)


class _LastEstimate:
    """VPA's updater and recommender read the same estimate at a tick: it is made once.

    Keyed on the history object itself (the replay hands out one object per instant) and
    held by reference, so a new history can never be mistaken for the last one.
    """

    def __init__(self) -> None:
        self._history: UsageHistory | None = None
        self._estimate: vpa.VpaEstimate | None = None

    def __call__(self, history: UsageHistory) -> vpa.VpaEstimate:
        if history is not self._history or self._estimate is None:
            self._estimate = vpa.estimate(history)
            self._history = history
        return self._estimate


_vpa_estimate = _LastEstimate()


def _vpa(history: UsageHistory, policy: Policy) -> Recommendation:
    return vpa.recommend(history, policy, known=_vpa_estimate(history))


def vpa_updater_admits(
    current: Recommendation, history: UsageHistory, period: UsageHistory | None = None
) -> bool:
    """VPA's updater: evict when a request is outside the recommended [lower, upper] range."""
    return _evicts(current, lambda: _vpa_estimate(history))


def _evicts(current: Recommendation, estimate: Callable[[], vpa.VpaEstimate]) -> bool:
    try:
        est = estimate()
    except ValueError:
        return False
    return _outside(current.cpu_request_cores * 1000, est.cpu_millicores) or _outside(
        float(current.memory_request_bytes), est.memory_bytes
    )


def _prepare_vpa(usage: UsageHistory, windows: Sequence[tuple[int, int]]) -> Prepared:
    windowed = vpa_windows.Windowed(usage, windows=windows)
    return Prepared(
        windowed.recommend,
        lambda current, span, period: _evicts(current, lambda: windowed.estimate(span)),
    )


def _prepare_autopilot(usage: UsageHistory, windows: Sequence[tuple[int, int]]) -> Prepared:
    return Prepared(autopilot_windows.Windowed(usage, windows=windows).propose)


def sizer_goal_missed(
    current: Recommendation,
    history: UsageHistory,
    period: UsageHistory,
    goals: Goals | None = None,
    *,
    usage: tuple[int, float, float] | None = None,
) -> bool:
    """Sizer's check: a right-size is proposed only when the period just ended missed a goal.

    The goals are the report's (:mod:`bot.feedback.goals`): requests within 10 % of the p95
    of 5-minute usage, no CPU saturation, a memory limit above every sample. A period with
    too little usage to judge proposes nothing. ``usage`` is the period's
    :attr:`~tools.sizing.spans.Span.five_minute_p95` when the caller already has it.
    """
    g = goals or Goals()
    windows = len(pooled_window_means(period.pods, memory=False)) if usage is None else usage[0]
    if windows < MIN_PERIOD_WINDOWS:
        return False
    m = score(
        period.pods,
        current.cpu_request_cores,
        current.cpu_limit_cores,
        float(current.memory_request_bytes),
        None if current.memory_limit_bytes is None else float(current.memory_limit_bytes),
        p95=None if usage is None else usage[1:],
    )
    return (
        not g.requests_fit(m.cpu_slack, m.mem_slack)
        or g.saturated(m.cpu_saturated_share)
        or m.oom_events > 0
    )


def _prepare_sizer(
    resize: Resize, usage: UsageHistory, windows: Sequence[tuple[int, int]]
) -> Prepared:
    def goal_missed(current: Recommendation, span: Span, period: Span) -> bool:
        return sizer_goal_missed(
            current, span.history, period.history, usage=period.five_minute_p95
        )

    return Prepared(lambda span, policy: resize(span.history, policy), goal_missed)


def loop_recommenders(
    settings: RightsizeSettings | None = None,
    *,
    check_every_s: int = LoopSettings().check_every_s,
) -> Mapping[str, LoopRecommender]:
    """Sizer (right-sizing with ``settings``) and the baselines, each run as in a cluster.

    Sizer's right-size at a check must hold until the next one, so its horizon is the check
    period (:meth:`~tools.sizing.rightsize.RightsizeSettings.holding_for`); the bot checks
    daily, the settings' own 24 h.
    """
    tuned = (settings or RightsizeSettings()).holding_for(check_every_s / 3600)
    sizer = partial(rightsize.recommend, settings=tuned)
    return {
        "sizer": LoopRecommender(
            sizer,
            continuous=False,
            on_kill="raise",
            admit=sizer_goal_missed,
            prepare=partial(_prepare_sizer, sizer),
        ),
        "vpa": LoopRecommender(
            _vpa,
            continuous=True,
            on_kill="recompute",
            admit=vpa_updater_admits,
            min_change=False,
            prepare=_prepare_vpa,
        ),
        "krr-simple": LoopRecommender(_krr, continuous=False, on_kill="wait"),
        "autopilot-mw": LoopRecommender(
            autopilot_mw.recommend,
            continuous=True,
            on_kill="recompute",
            prepare=_prepare_autopilot,
        ),
    }


LOOP: Mapping[str, LoopRecommender] = loop_recommenders()


class LoopServiceResult(BaseModel):
    """One recommender's run over one service."""

    model_config = ConfigDict(frozen=True)

    oom_events: int
    launch_oom_events: int = Field(description="kills before the first check")
    resizes: int
    cpu_slack: float | None = Field(description="median over check periods after the first")
    mem_slack: float | None
    periods: int = Field(description="check periods scored after the first check")
    initial: Recommendation
    final: Recommendation


class LoopService(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    pods: int
    start: int
    end: int
    first_check: int
    recommenders: dict[str, LoopServiceResult]


class LoopSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    services: int
    oom_events: int
    zero_oom_share: float | None
    launch_oom_events: int
    launch_zero_oom_share: float | None
    median_cpu_slack: float | None
    median_mem_slack: float | None
    median_abs_cpu_slack: float | None
    median_abs_mem_slack: float | None
    resizes: int


class LoopResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    trace: str
    mode: Literal["loop"] = "loop"
    settings: LoopSettings
    policy: dict[str, object]
    recommenders: tuple[str, ...]
    seconds: float = 0.0
    services: tuple[LoopService, ...]
    skipped: tuple[dict[str, str], ...]
    summary: dict[str, LoopSummary]


@dataclass
class _Run:
    """The state of one recommender over one service while it is replayed."""

    size: Recommendation
    changes: list[tuple[int, Recommendation]] = field(default_factory=list)
    kills: list[int] = field(default_factory=list)
    resizes: int = 0


def _moved(old: float | None, new: float | None, tolerance: float) -> bool:
    if old is None or new is None:
        return old != new
    if old == 0:
        return new != 0
    return abs(new - old) / old > tolerance


def _apply(run: _Run, new: Recommendation | Proposal, at: int, tolerance: float | None) -> None:
    """Apply ``new`` if it moves by more than ``tolerance`` (if it differs at all when None)."""
    old = run.size
    if tolerance is None:
        made = new.make() if isinstance(new, Proposal) else new
        if made != old:
            run.size = made
            run.changes.append((at, made))
            run.resizes += 1
        return
    pairs = [
        (old.cpu_request_cores, new.cpu_request_cores),
        (old.cpu_limit_cores, new.cpu_limit_cores),
        (float(old.memory_request_bytes), float(new.memory_request_bytes)),
        (
            None if old.memory_limit_bytes is None else float(old.memory_limit_bytes),
            None if new.memory_limit_bytes is None else float(new.memory_limit_bytes),
        ),
    ]
    rises = old.memory_limit_bytes is not None and (
        new.memory_limit_bytes is None or new.memory_limit_bytes > old.memory_limit_bytes
    )
    if rises or any(_moved(a, b, tolerance) for a, b in pairs):
        made = new.make() if isinstance(new, Proposal) else new
        run.size = made
        run.changes.append((at, made))
        run.resizes += 1


def _schedule(start: int, end: int, every: int) -> list[int]:
    return list(range(start + every, end, every))


def _below(peaks: list[float | None], limit: int | None) -> bool:
    return limit is None or all(p is None or p <= limit for p in peaks)


def _rising(over: npt.NDArray[np.bool_], was_above: bool) -> npt.NDArray[np.bool_]:
    """Where ``over`` turns true, given whether the sample before the first was above."""
    rising = over.copy()
    rising[1:] &= ~over[:-1]
    rising[0] &= not was_above
    return rising


class _Replay:
    """One service's samples per pod, and the replay of one recommender over them."""

    def __init__(self, usage: UsageHistory, settings: LoopSettings, policy: Policy) -> None:
        self.usage = usage
        self.settings = settings
        self.policy = policy
        self.start = usage.start
        self.end = usage.end
        self._last: Span | None = None
        # Each check period, whose 5-minute usage is the same for every recommender.
        self._periods: dict[tuple[int, int], Span] = {}

    def window(self, now: int) -> tuple[int, int]:
        """The [start, end) a recommender reads at ``now``."""
        return max(self.start, now - self.settings.lookback_s), now

    def history(self, now: int) -> Span:
        """What a recommender reads at ``now``; one object per instant (see _LastEstimate)."""
        if self._last is None or self._last.end != now:
            self._last = Span(self.usage, *self.window(now))
        return self._last

    def _resize(self, how: Prepared, now: int) -> Recommendation | Proposal | None:
        try:
            return how.resize(self.history(now), self.policy)
        except ValueError:
            return None  # too little history yet: keep the size in force

    def first_kill(
        self, limit: int | None, a: int, b: int, above: list[bool]
    ) -> tuple[int, float] | None:
        """Earliest crossing above ``limit`` in [a, b): its time and memory."""
        if limit is None:
            return None
        best: tuple[int, float] | None = None
        for i, pod in enumerate(self.usage.pods):
            lo, hi = pod.timestamps.searchsorted(a), pod.timestamps.searchsorted(b)
            if lo == hi:
                continue
            memory = pod.memory_bytes[lo:hi]
            if memory.max() <= limit:
                continue
            hits = np.flatnonzero(_rising(memory > limit, above[i]))
            if len(hits):
                t = int(pod.timestamps[lo + hits[0]])
                if best is None or t < best[0]:
                    best = (t, float(pod.memory_bytes[lo + hits[0]]))
        return best

    def settle(self, limit: int | None, a: int, b: int, above: list[bool]) -> int:
        """Count crossings in [a, b) with a fixed limit and carry each pod's state over."""
        count = 0
        for i, pod in enumerate(self.usage.pods):
            lo, hi = pod.timestamps.searchsorted(a), pod.timestamps.searchsorted(b)
            if lo == hi:
                continue
            memory = pod.memory_bytes[lo:hi]
            if limit is None or memory.max() <= limit:
                above[i] = False
                continue
            over = memory > limit
            count += int(np.count_nonzero(_rising(over, above[i])))
            above[i] = bool(over[-1])
        return count

    def peaks(self, bounds: list[int]) -> list[list[float | None]]:
        """Each pod's largest memory sample in [bounds[k], bounds[k + 1]), per k (None when
        the pod has no sample there); the last bound is past every sample."""
        per_pod: list[list[float | None]] = []
        for pod in self.usage.pods:
            cut = pod.timestamps.searchsorted(bounds)
            sizes = np.diff(cut)
            # empty intervals take no room, so each non-empty one ends where the next begins
            maxima = iter(np.maximum.reduceat(pod.memory_bytes, cut[:-1][sizes > 0]).tolist())
            per_pod.append([next(maxima) if n else None for n in sizes])
        return [[pod[k] for pod in per_pod] for k in range(len(bounds) - 1)]

    def run(self, how: LoopRecommender, initial: Recommendation) -> _Run:
        s = self.settings
        state = _Run(initial, [(self.start, initial)])
        checks = set(_schedule(self.start, self.end, s.check_every_s))
        ticks = set(_schedule(self.start, self.end, s.tick_s)) if how.continuous else set()
        decisions = [*sorted(checks | ticks), self.end]
        fast = how.prepared(self.usage, [self.window(t) for t in decisions[:-1]])
        bounds = [self.start, *decisions]
        peaks = self.peaks(bounds)
        above = [False] * len(self.usage.pods)
        t = self.start
        for k, stop in enumerate(decisions):
            while t < stop:
                limit = state.size.memory_limit_bytes
                if t == bounds[k] and _below(peaks[k], limit):
                    # no sample above the limit all interval: no kill, and no pod stays above
                    for i, peak in enumerate(peaks[k]):
                        if peak is not None:
                            above[i] = False
                    t = stop
                    break
                kill = self.first_kill(limit, t, stop, above) if how.on_kill != "wait" else None
                if kill is None:
                    state.kills.extend([t] * self.settle(limit, t, stop, above))
                    t = stop
                    break
                at, used = kill
                state.kills.extend([at] * self.settle(limit, t, at + 1, above))
                new = (
                    raise_after_oom(state.size, used, format_time(at), OomRaiseSettings())
                    if how.on_kill == "raise"
                    else self._resize(fast, at + 1)
                )
                if new is not None:
                    _apply(state, new, at + 1, s.min_change if how.min_change else None)
                t = at + 1
            if stop in checks or stop in ticks:
                # The period a check judges; continuous recommenders read only the history.
                period = (
                    self.period(max(self.start, stop - s.check_every_s), stop)
                    if stop in checks
                    else self.history(stop)
                )
                if fast.admit is not None and not fast.admit(
                    state.size, self.history(stop), period
                ):
                    continue
                new = self._resize(fast, stop)
                if new is not None:
                    _apply(state, new, stop, s.min_change if how.min_change else None)
        return state

    def period_slack(self, state: _Run, a: int, b: int) -> tuple[float | None, float | None]:
        """Slack of the time-weighted mean request in [a, b) against the p95 of its usage."""
        used = self.period_usage(a, b)
        if used is None:
            return None, None
        # from the size in force at a on (the ones before it held no time in [a, b))
        first = max(bisect.bisect_right(state.changes, a, key=lambda change: change[0]) - 1, 0)
        held = itertools.takewhile(lambda change: change[0] < b, state.changes[first:])
        bounds = [(max(t, a), rec) for t, rec in held]
        cpu = mem = 0.0
        for k, (t, rec) in enumerate(bounds):
            nxt = bounds[k + 1][0] if k + 1 < len(bounds) else b
            span = max(min(nxt, b) - max(t, a), 0)
            cpu += rec.cpu_request_cores * span
            mem += rec.memory_request_bytes * span
        cpu, mem = cpu / (b - a), mem / (b - a)
        return relative_slack(cpu, used[0]), relative_slack(mem, used[1])

    def period(self, a: int, b: int) -> Span:
        """The usage in [a, b), one object per period: its 5-minute p95 is made once."""
        if (a, b) not in self._periods:
            self._periods[a, b] = Span(self.usage, a, b)
        return self._periods[a, b]

    def period_usage(self, a: int, b: int) -> tuple[float, float] | None:
        """p95 of the 5-minute CPU and memory usage in [a, b); None below an hour of windows."""
        windows, cpu, memory = self.period(a, b).five_minute_p95
        return None if windows < MIN_PERIOD_WINDOWS else (cpu, memory)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _score(replay: _Replay, state: _Run, first_check: int, every: int) -> LoopServiceResult:
    bounds = [*range(first_check, replay.end, every), replay.end]
    slacks = [replay.period_slack(state, a, b) for a, b in itertools.pairwise(bounds)]
    cpu = [c for c, _ in slacks if c is not None]
    mem = [m for _, m in slacks if m is not None]
    return LoopServiceResult(
        oom_events=len(state.kills),
        launch_oom_events=sum(1 for k in state.kills if k < first_check),
        resizes=state.resizes,
        cpu_slack=_median(cpu),
        mem_slack=_median(mem),
        periods=len(cpu),
        initial=state.changes[0][1],
        final=state.size,
    )


def summarise_loop(services: Sequence[LoopService], name: str) -> LoopSummary:
    runs = [s.recommenders[name] for s in services if name in s.recommenders]
    n = len(runs)
    cpu = [r.cpu_slack for r in runs]
    mem = [r.mem_slack for r in runs]
    return LoopSummary(
        services=n,
        oom_events=sum(r.oom_events for r in runs),
        zero_oom_share=sum(r.oom_events == 0 for r in runs) / n if n else None,
        launch_oom_events=sum(r.launch_oom_events for r in runs),
        launch_zero_oom_share=sum(r.launch_oom_events == 0 for r in runs) / n if n else None,
        median_cpu_slack=_median(cpu),
        median_mem_slack=_median(mem),
        median_abs_cpu_slack=_median([None if v is None else abs(v) for v in cpu]),
        median_abs_mem_slack=_median([None if v is None else abs(v) for v in mem]),
        resizes=sum(r.resizes for r in runs),
    )


def launch_sizes(
    trace: Trace, policy: Policy, settings: coldstart.ColdStartSettings | None = None
) -> dict[str, Recommendation | str]:
    """Each service's leave-one-out cold-start size (or why there is none)."""
    profiles: dict[str, PeerProfile] = {
        name: profile_from_history(usage, trace.services[name].meta)
        for name, usage in trace.usage.items()
    }
    sizes: dict[str, Recommendation | str] = {}
    for name in sorted(trace.usage):
        others = [profiles[s] for s in sorted(profiles) if s != name]
        if not others:
            sizes[name] = "no other service in the trace to learn from"
            continue
        usage = trace.usage[name]
        p50, p95 = rps_percentiles(usage)
        target = coldstart.ColdStartInput(
            meta=trace.services[name].meta,
            rps_p50_per_pod=p50,
            rps_p95_per_pod=p95,
            replicas=max(usage.replicas(), 1),
        )
        sizes[name] = coldstart.recommend(target, others, policy, settings)
    return sizes


def replay_service(
    name: str,
    usage: UsageHistory,
    size: Recommendation,
    settings: LoopSettings,
    policy: Policy,
    recommenders: Mapping[str, LoopRecommender],
) -> LoopService:
    """One service replayed under each recommender, from the same launch size."""
    replay = _Replay(usage, settings, policy)
    first_check = replay.start + settings.check_every_s
    runs = {
        n: _score(replay, replay.run(how, size), first_check, settings.check_every_s)
        for n, how in recommenders.items()
    }
    return LoopService(
        service=name,
        pods=usage.replicas(),
        start=replay.start,
        end=replay.end,
        first_check=first_check,
        recommenders=runs,
    )


def _replay_star(args: tuple[Any, ...]) -> LoopService:
    return replay_service(*args)


def run_loop(
    trace: Trace,
    *,
    settings: LoopSettings | None = None,
    policy: Policy | None = None,
    only: Sequence[str] | None = None,
    recommenders: Mapping[str, LoopRecommender] | None = None,
    on_service: Callable[[str], None] | None = None,
    jobs: int = 1,
    coldstart_settings: coldstart.ColdStartSettings | None = None,
) -> LoopResult:
    """Replay every service of ``trace`` in a closed loop under each recommender.

    Services are independent, so ``jobs`` > 1 replays them in that many processes (the
    recommenders must then be module-level functions); the result is the same and in the
    same order whatever ``jobs`` is.
    """
    s = settings or LoopSettings()
    policy = policy or Policy()
    if recommenders is None:
        recommenders = loop_recommenders(check_every_s=s.check_every_s)
    names = tuple(only) if only is not None else tuple(recommenders)
    unknown = [n for n in names if n not in recommenders]
    if unknown:
        raise ValueError(
            f"unknown recommender(s) for loop: {', '.join(unknown)}; "
            f"choose from {', '.join(recommenders)}"
        )
    chosen = {n: recommenders[n] for n in names}
    skipped: list[dict[str, str]] = []
    work: list[tuple[Any, ...]] = []
    for name, size in launch_sizes(trace, policy, coldstart_settings).items():
        if isinstance(size, str):
            skipped.append({"service": name, "reason": size})
        else:
            work.append((name, trace.usage[name], size, s, policy, chosen))
    services: list[LoopService] = []
    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
            for done in pool.map(_replay_star, work):
                services.append(done)
                if on_service is not None:
                    on_service(done.service)
    else:
        for args in work:
            services.append(_replay_star(args))
            if on_service is not None:
                on_service(services[-1].service)
    return LoopResult(
        trace=trace.name,
        settings=s,
        policy=policy.model_dump(mode="json"),
        recommenders=names,
        services=tuple(services),
        skipped=tuple(skipped),
        summary={n: summarise_loop(services, n) for n in names},
    )
