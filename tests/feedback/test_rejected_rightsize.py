"""After a person rejects a check's revision, what runs is still the applied revision, and
later checks propose again only when there is something new to say.

The lab trace's ``orders`` (real Prometheus) is OOM-killed about 17.7 h and 11 h before now;
checks read 4 h windows (``SIZER_CHECK_REPORT_AFTER_S``) at chosen times, and the service's
clock follows them, so the rejection falls between the two kills. Real Redis and store, the
real approve / reject path, access rules and audit.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from bot.approvals.models import Proposal, ProposalState
from bot.executors.base import ApplyResult, ApplyStep
from bot.feedback.spec import CheckSpec
from bot.service import NotAuthorised
from bot.slack import blocks
from bot.wiring import Components
from tests.approvals.doubles import Clock, RecordingExecutor, redis_prefix
from tests.feedback.conftest import ACCESS, RecordingPoster
from tests.feedback.helpers import APPROVER, REQUESTER, apply, components, settings
from tests.prometheus.conftest import PromServer
from tools.sizing.quantities import parse_memory

S = ProposalState
HOUR = 3600
WINDOW = 4 * HOUR


def _spec(proposal: Proposal, check: str, applied_at: float, due: float) -> CheckSpec:
    return CheckSpec(
        proposal_id=proposal.id, revision=1, check=check, applied_at=applied_at, due_at=due
    )


def _follow_up(poster: RecordingPoster) -> str:
    return json.dumps(poster.messages()[-1].blocks[-1], ensure_ascii=False)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_a_rejected_memory_raise_is_proposed_again_only_after_a_new_kill(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 22 * HOUR
    clock = Clock(applied_at)
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=WINDOW)
        parts = components(config, client, clock, poster)
        service, checker = parts.service, parts.checker
        proposal = apply(parts, "orders", "lab", None)

        # the report sees the kill 17.7 h ago and proposes a memory raise
        due = now - 17 * HOUR
        clock.now = due
        assert checker.run(_spec(proposal, "report", applied_at, due), final_attempt=True) == (
            "proposed revision 2"
        )
        raise_ = service.get(proposal.id)
        assert raise_.state == S.PROPOSED and raise_.revision == 2

        # an approver rejects it: revision 1 runs on
        clock.now = now - 16.9 * HOUR
        rejected = service.reject(raise_.card_ref(), APPROVER, "we restart it nightly & <!here>")
        assert rejected.state == S.REJECTED
        assert rejected.rejection_reason == "we restart it nightly & <!here>"
        assert parts.check_scheduler.applied_revisions.revision(proposal.id) == 1
        # the report quotes the reason, escaped: it pings nobody
        said = (
            f"rejected on {_when(clock.now)} by <@{APPROVER}> "
            "(“we restart it nightly &amp; &lt;!here&gt;”)"
        )

        # a check of usage from before the rejection does not reopen it
        before = _spec(proposal, "day5", applied_at, now - 16.95 * HOUR)
        assert checker.run(before, final_attempt=True) == "reported"
        assert "after the usage this check measured" in _follow_up(poster)

        # the next check still sees the same kill (before the rejection): the same raise, and
        # it is not proposed again
        same = _spec(proposal, "day1", applied_at, now - 16.8 * HOUR)
        assert checker.run(same, final_attempt=True) == "reported"
        text = _follow_up(poster)
        assert "No new revision" in text and said in text and "is not proposed again" in text
        assert "<!here>" not in text and '"verbatim": true' in text
        assert service.get(proposal.id).revision == 2
        assert len([p for p in poster.posted if p.kind == "card"]) == 1

        # a kill after the rejection (11 h ago): a kill always proposes again
        clock.now = now - 10 * HOUR
        later = _spec(proposal, "day2", applied_at, now - 10 * HOUR)
        assert checker.run(later, final_attempt=True) == "proposed revision 3"
        text = _follow_up(poster)
        assert "Proposed again" in text and said in text and "an OOM kill came after" in text
        again = service.get(proposal.id)
        assert again.state == S.PROPOSED and again.revision == 3
        assert again.rejection_reason is None  # the reason was revision 2's
        assert rejected.in_force == again.in_force == 1
        cards = [p for p in poster.posted if p.kind == "card"]
        assert len(cards) == 2 and cards[-1].proposal.revision == 3
        assert again.current.sizing.memory_limit is not None
        assert parse_memory(again.current.sizing.memory_limit) > 256 * 2**20

        # the same Approve path: the requester may not approve it, the approver may
        with pytest.raises(NotAuthorised):
            service.approve(again.card_ref(), REQUESTER)
        applied = service.approve(again.card_ref(), APPROVER)
        assert applied.state == S.APPLIED and applied.in_force == 3
        assert parts.check_scheduler.applied_revisions.revision(proposal.id) == 3

        moves = [
            (e.revision, e.from_state, e.to_state, e.actor)
            for e in service.trail(proposal.id)
            if e.event == "transition"
        ]
        assert moves[-6:] == [
            (2, "applied", "proposed", "sizer"),
            (2, "proposed", "rejected", APPROVER),
            (3, "rejected", "proposed", "sizer"),
            (3, "proposed", "approved", APPROVER),
            (3, "approved", "applying", APPROVER),
            (3, "applying", "applied", APPROVER),
        ]
        trail = service.trail(proposal.id)
        reject = next(e for e in trail if e.to_state == "rejected")
        assert reject.reason == (
            "rejected: we restart it nightly & <!here>; revision 1 stays applied"
        )
        reopened = next(e for e in trail if e.revision == 3 and e.to_state == "proposed")
        assert "after revision 2 was rejected" in reopened.reason
        assert [e for e in trail if e.event == "denied" and e.actor == REQUESTER]


def test_a_rejected_revision_is_proposed_again_when_the_new_size_differs_by_more_than_10_percent(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 22 * HOUR
    clock = Clock(applied_at)
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=WINDOW)
        parts = components(config, client, clock, poster)
        service, checker = parts.service, parts.checker
        proposal = apply(parts, "orders", "lab", None)
        clock.now = now - 17 * HOUR
        report = _spec(proposal, "report", applied_at, clock.now)
        assert checker.run(report, final_attempt=True) == "proposed revision 2"
        clock.now = now - 16.9 * HOUR
        service.reject(service.get(proposal.id).card_ref(), APPROVER)

        # 17 h to 13 h ago: no kill, but the requests still miss; the right-size from that
        # window is far from the rejected memory raise
        due = now - 13 * HOUR
        clock.now = due
        assert checker.run(_spec(proposal, "day1", applied_at, due), final_attempt=True) == (
            "proposed revision 3"
        )
        text = _follow_up(poster)
        assert "Proposed again" in text and "differs by more than 10 %" in text
        assert f"by <@{APPROVER}>;" in text  # no reason given: none quoted
        assert "memory_limit" in text
        assert service.get(proposal.id).current.note.startswith("right-size")


def test_an_expired_revision_decided_nothing_and_the_next_check_proposes_again(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 22 * HOUR
    clock = Clock(applied_at)
    with redis_prefix() as (client, prefix):
        config = settings(
            prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=WINDOW, SIZER_PROPOSAL_TTL_S=HOUR
        )
        parts = components(config, client, clock, poster)
        service, checker = parts.service, parts.checker
        proposal = apply(parts, "orders", "lab", None)
        clock.now = now - 17 * HOUR
        report = _spec(proposal, "report", applied_at, clock.now)
        assert checker.run(report, final_attempt=True) == "proposed revision 2"
        clock.now = now - 15.9 * HOUR
        assert [p.id for p in service.expire_due()] == [proposal.id]
        expired = service.get(proposal.id)
        assert expired.state == S.EXPIRED and expired.in_force == 1

        due = now - 13 * HOUR
        clock.now = due
        assert checker.run(_spec(proposal, "day1", applied_at, due), final_attempt=True) == (
            "proposed revision 3"
        )
        text = _follow_up(poster)
        assert f"Proposed again: revision 2 expired undecided on {_when(now - 16 * HOUR)}" in text
        again = service.get(proposal.id)
        assert again.state == S.PROPOSED and again.in_force == 1
        assert again.expires_at == due + HOUR  # and it expires in turn


def test_a_rolled_back_revision_leaves_the_applied_one_and_is_proposed_again_only_if_different(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 22 * HOUR
    clock = Clock(applied_at)
    executor = RecordingExecutor()
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=WINDOW)
        parts = Components(
            config, redis=client, access=ACCESS, executor=executor, poster=poster, clock=clock
        )
        service, checker = parts.service, parts.checker
        proposal = apply(parts, "orders", "lab", None)
        clock.now = now - 17 * HOUR
        report = _spec(proposal, "report", applied_at, clock.now)
        assert checker.run(report, final_attempt=True) == "proposed revision 2"

        # the memory raise is approved, but its rollout fails and is rolled back
        executor.outcome = ApplyResult(
            ok=False,
            rolled_back=True,
            failed_step="rollout",
            error="rollout: readiness probe failed; rolled back to the previous revision",
            steps=[ApplyStep(name="apply", ok=True), ApplyStep(name="rollout", ok=False)],
        )
        clock.now = now - 16.9 * HOUR
        rolled = service.approve(service.get(proposal.id).card_ref(), APPROVER)
        assert rolled.state == S.ROLLED_BACK and rolled.in_force == 1
        assert parts.check_scheduler.applied_revisions.revision(proposal.id) == 1
        card = json.dumps(blocks.proposal_card(rolled))
        assert "Revision 1 stays applied and its checks go on" in card

        # the next check sees the same kill from before the rollback: the same raise is not
        # proposed again (it did not roll out) ...
        same = _spec(proposal, "day1", applied_at, now - 16.8 * HOUR)
        assert checker.run(same, final_attempt=True) == "reported"
        text = _follow_up(poster)
        assert "revision 2 was rolled back on" in text and "is not proposed again" in text

        # ... a kill after the rollback (11 h ago) proposes again, through the same approval
        clock.now = now - 10 * HOUR
        later = _spec(proposal, "day2", applied_at, now - 10 * HOUR)
        assert checker.run(later, final_attempt=True) == "proposed revision 3"
        again = service.get(proposal.id)
        assert again.state == S.PROPOSED and again.in_force == 1
        reopened = next(
            e for e in service.trail(proposal.id) if e.revision == 3 and e.to_state == "proposed"
        )
        assert reopened.from_state == "rolled_back" and "after revision 2 was" in reopened.reason
