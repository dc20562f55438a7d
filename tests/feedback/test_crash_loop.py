"""The no-crash-loop goal takes the kubelet's word (``CrashLoopBackOff`` in kube-state-metrics'
waiting reasons) and counts restarts only where that metric is not in Prometheus at all.

Real Redis, the real service path and two real Prometheus servers: the second (cluster B) has
waiting reasons backfilled, the first (the lab trace) has none.
"""

from __future__ import annotations

import json
import time

from bot.approvals.models import Proposal
from bot.feedback.checker import Measured
from bot.feedback.goals import GoalResult
from bot.feedback.spec import CheckSpec
from bot.wiring import Components
from tests.approvals.doubles import Clock, redis_prefix
from tests.feedback.cluster_b import PODS, WAITING_REASON, ClusterB
from tests.feedback.conftest import RecordingPoster
from tests.feedback.helpers import apply, components, settings
from tests.prometheus.conftest import PromServer

HOUR = 3600


def _watch(proposal: Proposal, applied_at: float, now: float) -> CheckSpec:
    return CheckSpec(
        proposal_id=proposal.id,
        revision=proposal.revision,
        check="watch",
        applied_at=applied_at,
        due_at=now,
    )


def _crash_goal(
    parts: Components, proposal: Proposal, spec: CheckSpec
) -> tuple[GoalResult, Measured]:
    measured = parts.checker.measure(proposal, spec)
    judgement = parts.checker.judge(proposal, spec, measured)
    return next(g for g in judgement.goals if g.goal == "no-crash-loop"), measured


def test_a_container_in_crash_loop_back_off_fails_the_goal_and_the_watch_says_so(
    prom_b: ClusterB, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 5 * HOUR
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom_b.url), client, Clock(applied_at), poster)
        proposal = apply(parts, "looper", "lab", None)
        goal, measured = _crash_goal(parts, proposal, _watch(proposal, applied_at, now))
        assert goal.status == "fail"
        assert goal.detail.startswith(f"CrashLoopBackOff on {PODS['looper']} ")
        assert WAITING_REASON in goal.detail and measured.verification.oom_kills == 0

        assert parts.checker.watch_all(now) == [f"{proposal.id}: reported"]
        (report,) = poster.messages()
        assert "OOM kill or crash loop" in report.text and "missed no crash loop" in report.text
        body = json.dumps(report.blocks)
        assert f":x: *no crash loop*: CrashLoopBackOff on {PODS['looper']}" in body
        assert "not a sizing problem" in body
        assert not [p for p in poster.posted if p.kind == "card"]


def test_restarts_the_kubelet_never_backs_off_are_not_a_crash_loop(
    prom_b: ClusterB, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 5 * HOUR
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom_b.url), client, Clock(applied_at), poster)
        proposal = apply(parts, "flappy", "lab", None)
        goal, measured = _crash_goal(parts, proposal, _watch(proposal, applied_at, now))
        # as many restarts as the looping one, none of them OOM kills: a restart count alone
        # would call this a crash loop
        restarts = measured.verification.restarts
        assert restarts == prom_b.restarts["flappy"] and measured.verification.oom_kills == 0
        assert restarts >= parts.settings.feedback.crash_loop_restarts
        assert goal.status == "pass", goal.detail
        assert goal.detail.startswith("never in CrashLoopBackOff")
        assert parts.checker.watch_all(now) == [
            f"{proposal.id}: watched: no OOM kill or crash loop"
        ]
        assert poster.posted == []


def test_a_back_off_after_oom_kills_only_is_the_no_oom_goals_answer(
    prom_b: ClusterB, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 5 * HOUR
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom_b.url), client, Clock(applied_at), poster)
        proposal = apply(parts, "oomer", "lab", None)
        goal, measured = _crash_goal(parts, proposal, _watch(proposal, applied_at, now))
        kills = measured.verification.oom_kills
        assert kills == prom_b.restarts["oomer"] == measured.verification.restarts
        assert goal.status == "pass" and "every restart was an OOM kill" in goal.detail
        assert goal.detail.startswith(f"CrashLoopBackOff on {PODS['oomer']}")
        # the kills themselves get the memory raise
        assert parts.checker.watch_all(now) == [f"{proposal.id}: proposed revision 2"]
        assert "OOM kill" in parts.service.get(proposal.id).current.note


def test_without_waiting_reasons_restarts_that_are_not_oom_kills_are_counted(
    prom: PromServer, poster: RecordingPoster
) -> None:
    """The lab trace's orders, in the last 12 h: one OOM kill and one other restart."""
    now = time.time()
    applied_at = now - 12 * HOUR
    for threshold, status in ((1, "fail"), (2, "pass")):
        with redis_prefix() as (client, prefix):
            config = settings(prefix, prom.url, SIZER_CRASH_LOOP_RESTARTS=threshold)
            parts = components(config, client, Clock(applied_at), poster)
            proposal = apply(parts, "orders", "lab", None)
            goal, measured = _crash_goal(parts, proposal, _watch(proposal, applied_at, now))
            assert (measured.verification.restarts, measured.verification.oom_kills) == (2, 1)
            assert goal.status == status, goal.detail
            assert f"{WAITING_REASON} is not in this Prometheus" in goal.detail
            assert "2 restart(s), 1 not OOM kills" in goal.detail
            assert f"a crash loop is {threshold} or more" in goal.detail
