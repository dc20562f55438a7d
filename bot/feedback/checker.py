"""Running one check: read Prometheus, judge the goals, report in the thread, propose.

A check that cannot reach Prometheus raises :class:`CheckDeferred` so rq retries it with
backoff; on its last attempt it reports "could not check" instead, so no check is ever
dropped silently. Missing data (no such metric, no series) is permanent and reported at once.
Before it posts anything a check claims its job id in Redis: a job run twice (a requeued
job, two schedulers racing) reports once.

A proposal for one cluster of the clusters file is checked against that cluster's Prometheus
(``prometheus_for``); a cluster without one is reported as "could not check", never judged
on another cluster's data. After a person rejected a check's revision, a later check proposes
again only if the goal is still missed and the new size differs from the rejected one by more
than 10 % in some number, or an OOM kill came after the rejection; otherwise it says who
rejected it and when.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from redis import Redis

from bot.approvals.models import Proposal, ProposalState, Revision
from bot.feedback.chart import window_chart
from bot.feedback.goals import CrashLoops, Judgement, SizeInUse, judge, size_in_use
from bot.feedback.outcomes import Outcome, OutcomeStore, Usage
from bot.feedback.report import could_not_check, report_blocks
from bot.feedback.resize import (
    MEANINGFUL_SHARE,
    KillEvidence,
    Resize,
    memory_raise,
    moved,
    rightsize,
)
from bot.feedback.spec import CheckSpec
from bot.service import ProposalService, ServiceError
from bot.settings import FeedbackSettings, PrometheusSettings
from bot.slack.kit import escape
from tools.prometheus import (
    NoData,
    PrometheusClient,
    PrometheusError,
    PrometheusTarget,
    Workload,
    fetch_usage_history,
)
from tools.prometheus import queries as q
from tools.prometheus.client import Series
from tools.sizing.models import Policy, UsageHistory
from tools.sizing.rightsize import InsufficientHistory, RightsizeSettings
from tools.sizing.scoring import pooled_window_means
from tools.verify import Verification, verify_workload

__all__ = ["CheckDeferred", "Checker", "Measured", "NoPrometheus", "ThreadPoster"]

log = logging.getLogger(__name__)
S = ProposalState
CLAIM_TTL_S = 120 * 86_400


class CheckDeferred(Exception):
    """Prometheus did not answer; rq retries the check with backoff."""


class NoPrometheus(Exception):
    """The proposal's cluster has no Prometheus configured: nothing to check against."""


class ThreadPoster(Protocol):
    """Where reports go: the proposal's Slack thread (a recorder in tests)."""

    def post(self, proposal: Proposal, text: str, blocks: list[dict[str, Any]]) -> None: ...

    def upload(self, proposal: Proposal, png: bytes, filename: str, title: str) -> None: ...

    def card(self, proposal: Proposal) -> None: ...


@dataclass(frozen=True)
class Measured:
    """What a check read: the goals are judged on ``history`` (since the revision's apply);
    a new size is computed from ``sizing_history`` when one was read (a longer span)."""

    verification: Verification
    history: UsageHistory
    kills: KillEvidence
    crash_loops: CrashLoops
    sizing_history: UsageHistory | None = None

    @property
    def for_sizing(self) -> UsageHistory:
        return self.history if self.sizing_history is None else self.sizing_history


class Checker:
    def __init__(
        self,
        *,
        service: ProposalService,
        redis: Redis,
        prefix: str,
        prometheus: PrometheusSettings,
        feedback: FeedbackSettings,
        policy: Policy,
        rightsize: RightsizeSettings,
        poster: ThreadPoster,
        outcomes: OutcomeStore,
        applied_revision: Callable[[str], int | None],
        applied: Callable[[], dict[str, tuple[int, float]]],
        prometheus_for: Callable[[str], PrometheusTarget | None],
        superseded_by: Callable[[str], str | None],
    ) -> None:
        """``prometheus_for`` gives the Prometheus of a cluster of the clusters file and where
        its URL was set (None: it has none); proposals without a cluster use ``prometheus``."""
        self._service = service
        self._redis = redis
        self._prefix = prefix
        self._prometheus = prometheus
        self._feedback = feedback
        self._policy = policy
        self._rightsize = rightsize
        self._poster = poster
        self._outcomes = outcomes
        self._applied_revision = applied_revision
        self._applied = applied
        self._prometheus_for = prometheus_for
        self._superseded_by = superseded_by
        # cluster -> why the watch cannot read it, as last logged: said once, not per interval
        self._unwatched: dict[str, str] = {}
        self._unwatched_lock = threading.Lock()

    # -- the check -------------------------------------------------------------------------

    def run(self, spec: CheckSpec, *, final_attempt: bool) -> str:
        """One check; returns what it did (for the job's result and the logs)."""
        proposal = self._service.find(spec.proposal_id)
        if proposal is None:
            return "skipped: the proposal is gone"
        newer = self._superseded_by(spec.proposal_id)
        if newer is not None:
            return f"skipped: {newer} was applied to {proposal.key} since"
        running = self._applied_revision(spec.proposal_id)
        if running is not None and running != spec.revision:
            return f"skipped: revision {running} was applied since"
        try:
            measured = self.measure(proposal, spec)
        except (CheckDeferred, NoPrometheus, NoData, ValueError) as exc:
            return self._unmeasured(spec, proposal, exc, final_attempt=final_attempt)
        if spec.check == "watch":
            self._cluster_watched(proposal.cluster)
        judgement = self.judge(proposal, spec, measured)
        if spec.check == "watch" and not self._emergency(judgement):
            return "watched: no OOM kill or crash loop"
        if not judgement.met:
            # read before the report is claimed, so a Prometheus fault here is retried
            try:
                measured = self.with_sizing_history(proposal, spec, measured)
            except CheckDeferred as exc:
                return self._unmeasured(spec, proposal, exc, final_attempt=final_attempt)
        if not self._claim(self._claim_key(spec)):
            return "skipped: already reported"
        return self._report(proposal, spec, measured, judgement)

    def _unmeasured(
        self, spec: CheckSpec, proposal: Proposal, exc: Exception, *, final_attempt: bool
    ) -> str:
        """A check Prometheus could not answer: retried (rq) until the last attempt, then
        reported as "could not check"."""
        if isinstance(exc, CheckDeferred):
            if not final_attempt:
                raise exc
            whose = f" of cluster {proposal.cluster}" if proposal.cluster else ""
            return self._could_not(spec, proposal, f"Prometheus{whose} did not answer: {exc}")
        if isinstance(exc, NoPrometheus):
            if spec.check == "watch":
                self._cluster_unwatched(proposal.cluster, str(exc))
                return "watch: could not check"
            return self._could_not(spec, proposal, str(exc))
        return self._could_not(spec, proposal, f"no usage to judge: {exc}")

    def watch_all(self, now: float) -> list[str]:
        """The watch: every applied revision, from its apply to now, for kills and crash loops."""
        results = []
        for pid, (revision, applied_at) in sorted(self._applied().items()):
            spec = CheckSpec(
                proposal_id=pid, revision=revision, check="watch", applied_at=applied_at, due_at=now
            )
            try:
                results.append(f"{pid}: {self.run(spec, final_attempt=True)}")
            except Exception as exc:  # one workload's failure never stops the others' watch
                log.exception("watch of %s failed", pid)
                results.append(f"{pid}: failed: {exc}")
        return results

    def prometheus_target(self, proposal: Proposal) -> PrometheusTarget | None:
        """Where the proposal's workload is measured: its cluster's Prometheus."""
        if proposal.cluster is None:
            return self._prometheus.target()
        return self._prometheus_for(proposal.cluster)

    def measure(self, proposal: Proposal, spec: CheckSpec) -> Measured:
        target = self.prometheus_target(proposal)
        if target is None and proposal.cluster is not None:
            raise NoPrometheus(
                f"cluster {proposal.cluster} has no Prometheus configured (set its "
                "prometheus_url in SIZER_CLUSTERS_FILE)"
            )
        if target is None:
            raise NoPrometheus(
                "PROMETHEUS_URL is not set, so there are no metrics to check against"
            )
        workload = Workload(name=proposal.workload, namespace=proposal.namespace)
        since = spec.window_s(self._feedback.report_after_s)
        schema = self._prometheus.metric_schema()
        try:
            with PrometheusClient(target, timeout_s=self._prometheus.timeout_s) as client:
                verification = verify_workload(client, schema, workload, since, spec.due_at)
                history = fetch_usage_history(client, schema, workload, since, spec.due_at)
                kills = (
                    _kills(client, workload, since, spec.due_at, verification.oom_kills)
                    if verification.oom_kills
                    else KillEvidence(kills=0, pods=())
                )
                loops = _crash_loops(client, workload, since, spec.due_at)
        except NoData:
            raise
        except PrometheusError as exc:
            raise CheckDeferred(str(exc)) from exc
        return Measured(verification, history, kills, loops)

    def with_sizing_history(
        self, proposal: Proposal, spec: CheckSpec, measured: Measured
    ) -> Measured:
        """``measured`` with the usage a new size is computed from: up to
        ``rightsize_history_s`` before the check, across earlier revisions.

        A day since the apply has not seen last week's peaks; a limit sized from it is
        killed by the next one (replayed on the Bitbrains trace at daily checks: 1,653 OOM
        events with a day of history against 146 with a week).
        """
        span = self._feedback.rightsize_history_s
        if span <= spec.window_s(self._feedback.report_after_s):
            return measured
        target = self.prometheus_target(proposal)
        if target is None:  # measure() has already refused a check without one
            return measured
        workload = Workload(name=proposal.workload, namespace=proposal.namespace)
        try:
            with PrometheusClient(target, timeout_s=self._prometheus.timeout_s) as client:
                longer = fetch_usage_history(
                    client, self._prometheus.metric_schema(), workload, span, spec.due_at
                )
        except NoData:
            return measured
        except PrometheusError as exc:
            raise CheckDeferred(str(exc)) from exc
        return replace(measured, sizing_history=longer)

    def judge(self, proposal: Proposal, spec: CheckSpec, measured: Measured) -> Judgement:
        applied = _revision(proposal, spec.revision).sizing
        return judge(
            measured.history,
            measured.verification,
            size_in_use(measured.verification, applied),
            launch=spec.launch,
            crash_loops=measured.crash_loops,
            crash_loop_restarts=self._feedback.crash_loop_restarts,
        )

    def _emergency(self, judgement: Judgement) -> bool:
        return judgement.status("no-oom") == "fail" or judgement.status("no-crash-loop") == "fail"

    # -- what to say and propose -------------------------------------------------------------

    def _report(
        self, proposal: Proposal, spec: CheckSpec, measured: Measured, judgement: Judgement
    ) -> str:
        history = measured.history
        resize, follow_up = self._follow_up(proposal, spec, measured, judgement)
        revised: Proposal | None = None
        if resize is not None:
            why = follow_up
            try:
                revised = self._service.revise(
                    proposal.id,
                    resize.sizing,
                    reasons=resize.reasons,
                    confidence=resize.confidence,
                    note=resize.note,
                    base_revision=spec.revision,
                )
                follow_up = (
                    f"*Proposed revision {revised.revision}* ({resize.note}): "
                    + ", ".join(
                        resize.sizing.changes_from(_revision(proposal, spec.revision).sizing)
                    )
                    + ". "
                    + (f"{why} " if why else "")
                    + "Approve, edit or reject it on the card below."
                )
            except ServiceError as exc:
                follow_up = f"No new revision: {exc}"
        hours = (history.end - history.start) / 3600
        text, blocks = report_blocks(
            spec, proposal, judgement, hours=hours, pods=history.replicas(), follow_up=follow_up
        )
        self._poster.post(proposal, text, blocks)
        png = window_chart(
            history, judgement.size, f"{proposal.key}: usage vs request and limit ({hours:.0f} h)"
        )
        name = f"{proposal.workload}-{spec.check}-r{spec.revision}.png"
        self._poster.upload(proposal, png, name, name.removesuffix(".png"))
        if revised is not None:
            self._poster.card(revised)
        if not spec.launch:
            self._record(proposal, spec, measured, judgement, resize)
        if revised is not None:
            return f"proposed revision {revised.revision}"
        return "green" if judgement.met else "reported"

    def _follow_up(
        self, proposal: Proposal, spec: CheckSpec, measured: Measured, judgement: Judgement
    ) -> tuple[Resize | None, str]:
        if judgement.met:
            return None, ""
        missed = [g.goal for g in judgement.missed()]
        if missed == ["no-crash-loop"]:
            return None, "Restarts that are not OOM kills are not a sizing problem: see the logs."
        decided = (
            proposal.state in (S.REJECTED, S.EXPIRED, S.ROLLED_BACK)
            and proposal.in_force == spec.revision
        )
        if not decided and (proposal.state != S.APPLIED or proposal.revision != spec.revision):
            return None, (
                f"No new revision: the proposal is {proposal.state} at revision "
                f"{proposal.revision} (a decision on it comes first)."
            )
        applied = _revision(proposal, spec.revision).sizing
        try:
            if judgement.status("no-oom") == "fail":
                resize = memory_raise(
                    measured.for_sizing,
                    applied,
                    judgement.size,
                    measured.kills,
                    self._policy,
                    self._rightsize,
                )
            else:
                resize = rightsize(
                    measured.for_sizing, applied, self._policy, self._rightsize, missed
                )
        except InsufficientHistory as exc:
            return None, f"No new revision yet: {exc}."
        if not decided:
            return resize, ""
        return _after_decision(proposal, spec, measured, judgement, resize)

    def _record(
        self,
        proposal: Proposal,
        spec: CheckSpec,
        measured: Measured,
        judgement: Judgement,
        resize: Resize | None,
    ) -> None:
        prediction = self._outcomes.prediction(proposal.id)
        if prediction is None:
            return
        history, v = measured.history, measured.verification
        applied = _revision(proposal, spec.revision).sizing
        try:
            proved = resize or rightsize(history, applied, self._policy, self._rightsize, [])
        except InsufficientHistory:
            return
        cpu5 = pooled_window_means(history.pods, memory=False)
        mem5 = pooled_window_means(history.pods, memory=True)
        self._outcomes.record(
            Outcome(
                prediction=prediction,
                check=spec.check,
                checked_at=spec.due_at,
                revision=spec.revision,
                used=Usage(
                    hours=(history.end - history.start) / 3600,
                    pods=history.replicas(),
                    cpu_p50=float(np.percentile(cpu5, 50)),
                    cpu_p95=float(np.percentile(cpu5, 95)),
                    cpu_max=float(history.concat("cpu").max()),
                    mem_p50=float(np.percentile(mem5, 50)),
                    mem_p95=float(np.percentile(mem5, 95)),
                    mem_max=float(history.concat("memory").max()),
                    oom_kills=v.oom_kills,
                    restarts=v.restarts,
                ),
                goals_met=judgement.met,
                missed=tuple(g.goal for g in judgement.missed()),
                proved=proved.sizing,
                proved_why=tuple(f"{r.field}: {r.text}" for r in proved.reasons),
            )
        )

    def _cluster_unwatched(self, cluster: str | None, why: str) -> None:
        """Warn that a cluster's workloads go unwatched: once, and again only if ``why``
        changes (or after a watch of it has worked since), never at every interval."""
        key = cluster or ""
        with self._unwatched_lock:
            if self._unwatched.get(key) == why:
                return
            self._unwatched[key] = why
        name = f"cluster {cluster}" if cluster else "the default cluster"
        log.warning("OOM watch of %s cannot run: %s", name, why)

    def _cluster_watched(self, cluster: str | None) -> None:
        with self._unwatched_lock:
            self._unwatched.pop(cluster or "", None)

    def _could_not(self, spec: CheckSpec, proposal: Proposal, why: str) -> str:
        if spec.check == "watch":
            log.warning("watch of %s could not check: %s", proposal.key, why)
            return "watch: could not check"
        if not self._claim(self._claim_key(spec)):
            return "skipped: already reported"
        text, blocks = could_not_check(spec, proposal, why)
        self._poster.post(proposal, text, blocks)
        return "could not check"

    # -- exactly once --------------------------------------------------------------------

    def _claim_key(self, spec: CheckSpec) -> str:
        what = (
            f"oom:{spec.proposal_id}:r{spec.revision}"
            if spec.check == "watch"
            else (f"check:{spec.job_id(self._prefix)}")
        )
        return f"{self._prefix}feedback:reported:{what}"

    def _claim(self, key: str) -> bool:
        return bool(self._redis.set(key, "1", nx=True, ex=CLAIM_TTL_S))


def _after_decision(
    proposal: Proposal, spec: CheckSpec, measured: Measured, judgement: Judgement, resize: Resize
) -> tuple[Resize | None, str]:
    """Whether to propose again after the last check's revision was rejected or expired.

    Only a check that measured usage after the decision asks again. An expiry decided nothing,
    so the size is simply proposed again; a rejection is a person's answer, and a rollback
    says that size did not roll out, so each is asked again only for an OOM kill since then or
    a size more than 10 % away from the one turned down.
    """
    last = proposal.current
    at = proposal.expires_at if proposal.state == S.EXPIRED else proposal.updated_at
    when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if proposal.state == S.EXPIRED:
        said = f"revision {last.number} expired undecided on {when}"
    elif proposal.state == S.ROLLED_BACK:
        said = f"revision {last.number} was rolled back on {when} (its rollout failed)"
    else:
        by = proposal.updated_by
        said = f"a right-size (revision {last.number}) was rejected on {when} by <@{by}>"
        if proposal.rejection_reason:
            said += f" (“{escape(proposal.rejection_reason)}”)"
    if at > spec.due_at:
        return None, (
            f"No new revision: {said}, after the usage this check measured; the next check "
            "looks again."
        )
    if proposal.state == S.EXPIRED:
        return resize, f"Proposed again: {said}."
    if judgement.status("no-oom") == "fail" and _killed_since(measured, judgement.size, at):
        return resize, f"Proposed again: {said}, and an OOM kill came after that."
    changes = moved(resize.sizing, last.sizing)
    if changes:
        return resize, (
            f"Proposed again: {said}; this one differs by more than "
            f"{MEANINGFUL_SHARE * 100:.0f} % from it ({', '.join(changes)})."
        )
    return None, (
        f"No new revision: {said} and is not proposed again: what this check would propose "
        f"is within {MEANINGFUL_SHARE * 100:.0f} % of it, and no OOM kill came since."
    )


def _killed_since(measured: Measured, size: SizeInUse, at: float) -> bool:
    """An OOM kill (kube-state-metrics) or memory over the limit after ``at``."""
    last = measured.verification.last_oom_kill_at
    if last is not None and last > at:
        return True
    limit = size.memory_limit
    if limit is None:
        return False
    return any(
        bool(np.any((p.timestamps > at) & (p.memory_bytes > limit))) for p in measured.history.pods
    )


def _revision(proposal: Proposal, number: int) -> Revision:
    return next((r for r in proposal.revisions if r.number == number), proposal.current)


def _kills(
    client: PrometheusClient, workload: Workload, since_s: int, at: float, count: int
) -> KillEvidence:
    """Which pods kube-state-metrics reports OOMKilled, and when it first did in the window."""
    series = client.samples(
        q.raw(q.LAST_TERMINATED, workload.selector('reason="OOMKilled"'), since_s), at
    )
    pods, first = _first_seen(series)
    return KillEvidence(kills=count, pods=pods, first_at=first)


def _first_seen(series: list[Series]) -> tuple[tuple[str, ...], float | None]:
    """The pods whose series is ever above 0, and the first time any of them is."""
    pods: set[str] = set()
    first: float | None = None
    for one in series:
        hit = one.timestamps[np.asarray(one.values) > 0]
        if len(hit):
            pods.add(one.labels.get("pod", "?"))
            first = float(hit[0]) if first is None else min(first, float(hit[0]))
    return tuple(sorted(pods)), first


def _crash_loops(
    client: PrometheusClient, workload: Workload, since_s: int, at: float
) -> CrashLoops:
    """Which pods kube-state-metrics reports waiting in CrashLoopBackOff in the window, and
    whether it reports waiting reasons at all (absent: restarts are counted instead)."""
    series = client.samples(
        q.crash_loop_back_off(workload.namespace, workload.container_name, since_s), at
    )
    pods, first = _first_seen(series)
    if pods:
        return CrashLoops(reported=True, pods=pods, first_at=first)
    return CrashLoops(reported=client.has(q.WAITING_REASON, since_s, at))
