"""The reported outcome is what happened, whatever Slack or Redis do around the apply."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from bot.approvals.models import ProposalState
from bot.slack.runtime import Runtime
from bot.wiring import StartupError
from tests.approvals.doubles import RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.emulators.slack_api import SlackEmulator
from tests.faults.conftest import PrivateRedis, start_bot
from tests.slack.conftest import Bot
from tests.slack.scenario import eventually, posted_card, text_of

S = ProposalState
ASK = (
    "size items-api --language python --framework fastapi --rps 50-100 --namespace team-a "
    "--image ghcr.io/acme/items-api:1.4.2"
)
THREAD = "1700000000.000001"


def _ask(bot: Bot, ts: str = THREAD) -> None:
    assert bot.sender is not None
    response = bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=ts)))
    assert response.status == 200 and response.seconds < 3


def _approve(bot: Bot, value: str, ts: str) -> None:
    assert bot.sender is not None
    payload = sr.block_action("sizer_approve", value, "UAPPROVER", "C1", ts, THREAD)
    assert bot.sender.interactive(payload).status == 200


def _said(slack: SlackEmulator) -> str:
    return "\n".join(text_of(c) for c in slack.calls if c.status == 200)


@pytest.mark.parametrize("fault", ["500", "20x429"])
def test_slack_failing_on_the_card_update_never_freezes_the_proposal(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path, fault: str
) -> None:
    bot = start_bot(bots, slack, private_redis, access)
    _ask(bot)
    _, ref, ts = posted_card(slack, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    if fault == "500":
        slack.inject_status("chat.update", 500, times=1)
    else:
        slack.inject_429("chat.update", times=20, retry_after=0)
    _approve(bot, ref.encode(), ts)
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).state == S.APPLIED, 20)
    assert len(bot.executor.applied) == 1
    assert "nothing was applied" not in _said(slack)


def test_slack_down_after_the_apply_started_never_says_nothing_was_applied(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    bot = start_bot(bots, slack, private_redis, access)
    bot.executor.gate = threading.Event()
    _ask(bot)
    _, ref, ts = posted_card(slack, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    _approve(bot, ref.encode(), ts)
    assert bot.executor.started.wait(5)
    slack.inject_status("chat.update", 500, times=50)
    slack.inject_status("chat.postMessage", 500, times=50)
    bot.executor.gate.set()
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).state == S.APPLIED, 20)
    bot.runtime.pool.shutdown(wait=True)
    assert "nothing was applied" not in _said(slack)


@pytest.mark.parametrize("finished", [True, False])
def test_redis_dying_after_the_apply_started_reports_what_the_cluster_did(
    bots: list[Runtime],
    slack: SlackEmulator,
    private_redis: PrivateRedis,
    access: Path,
    finished: bool,
) -> None:
    bot = start_bot(bots, slack, private_redis, access)
    bot.executor.gate = threading.Event()
    # finished: the rollout ended just before Redis died; else the next step's lease check
    # finds Redis gone and the apply stops there (fail closed).
    bot.executor.check_lease_at_end = not finished
    _ask(bot)
    _, ref, ts = posted_card(slack, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    _approve(bot, ref.encode(), ts)
    assert bot.executor.started.wait(5)
    private_redis.kill()
    bot.executor.gate.set()
    told = slack.wait_for(
        "chat.postEphemeral", lambda c: "could not record" in str(c.params.get("text")), 20
    )
    text = str(told.params["text"])
    if finished:
        assert "the cluster accepted the change" in text
        assert f"resolve {ref.proposal_id} applied" in text
    else:
        assert "the apply failed (stopped: cannot confirm the apply lock" in text
        assert f"resolve {ref.proposal_id} failed" in text
    assert "nothing was applied" not in _said(slack)


def test_a_stalled_redis_stops_the_apply_before_a_second_one_can_run(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    executor = RecordingExecutor()
    bot = start_bot(bots, slack, private_redis, access, executor=executor)
    service = bot.runtime.service
    first = service.size(_request(), "UREQUESTER")
    second = service.size(_request(), "UREQUESTER")
    executor.gate = threading.Event()
    outcome: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(first=service.approve(first.card_ref(), "UAPPROVER"))
    )
    runner.start()
    assert executor.started.wait(5)
    private_redis.stall(3.5).join(10)  # longer than the 2 s lock TTL
    done_second = service.approve(second.card_ref(), "UAPPROVER")
    executor.gate.set()
    runner.join(20)
    assert done_second.state == S.APPLIED
    stopped = service.get(first.id)
    assert stopped.state == S.FAILED
    assert stopped.result is not None and "lock" in (stopped.result.error or "")
    assert [r.proposal_id for r in executor.finished] == [second.id]


def _request():  # type: ignore[no-untyped-def]
    from tools.propose import SizeRequest

    return SizeRequest(
        name="items-api",
        namespace="team-a",
        language="python",
        framework="fastapi",
        rps_low=50,
        rps_high=100,
    )


def test_resolving_an_old_apply_never_takes_the_workload_from_a_newer_one(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    from bot.approvals.store import ProposalStore

    bot = start_bot(bots, slack, private_redis, access)
    service = bot.runtime.service
    old = service.size(_request(), "UREQUESTER")
    store = ProposalStore(bot.redis, "sizer:")
    approved = store.transition(old, old.model_copy(update={"state": S.APPROVED}), "x")
    store.transition(
        approved,
        approved.model_copy(update={"state": S.APPLYING, "updated_at": approved.updated_at}),
        "apply started",
    )
    bot.clock.now += 60
    newer = service.size(_request(), "UREQUESTER")
    service.approve(newer.card_ref(), "UAPPROVER")
    assert service.why("team-a/items-api").proposal.id == newer.id
    service.resolve(old.id, S.APPLIED, "UAPPROVER", "it had finished")
    answer = service.why("team-a/items-api")
    assert answer.proposal.id == newer.id and answer.applied


def test_interrupted_apply_is_reported_by_the_periodic_sweep(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    first = start_bot(bots, slack, private_redis, access)
    service = first.runtime.service
    proposal = service.size(_request(), "UREQUESTER", "C1", THREAD)
    from bot.approvals.store import ProposalStore

    store = ProposalStore(first.redis, "sizer:")
    # A dead process's lock, still inside its TTL when this one starts.
    first.redis.set("sizer:lock:team-a/items-api", f"{proposal.id} dead", px=1500)
    approved = store.transition(proposal, proposal.model_copy(update={"state": S.APPROVED}), "x")
    store.transition(approved, approved.model_copy(update={"state": S.APPLYING}), "started")
    first.runtime.report_interrupted()
    assert "I restarted while" not in _said(slack)
    report = slack.wait_for("chat.postMessage", lambda c: "I restarted while" in text_of(c), 10)
    assert report.params.get("thread_ts") == THREAD
    first.runtime.sweep()
    assert slack.count("chat.postMessage", lambda c: "I restarted while" in text_of(c)) == 1


def test_redis_without_persistence_is_refused_when_required(
    slack: SlackEmulator,
    private_redis: PrivateRedis,
    access: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.slack.conftest import settings_for

    base = {"REDIS_URL": private_redis.url}
    strict = settings_for(slack, "sizer:", access, SIZER_REDIS_REQUIRE_PERSISTENCE=True, **base)
    with pytest.raises(StartupError, match="no persistence"):
        Runtime.create(strict, RecordingExecutor(), http=True, redis=private_redis.client())
    with caplog.at_level(logging.WARNING):
        runtime = Runtime.create(
            settings_for(slack, "sizer:", access, **base),
            RecordingExecutor(),
            http=True,
            redis=private_redis.client(),
        )
    runtime.pool.shutdown()
    assert "REDIS PERSISTENCE" in caplog.text


def test_redis_with_aof_passes_the_persistence_check(
    tmp_path: Path, slack: SlackEmulator, access: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.slack.conftest import settings_for

    server = PrivateRedis(tmp_path / "aof", persistence=("--appendonly", "yes")).start()
    try:
        settings = settings_for(
            slack, "sizer:", access, REDIS_URL=server.url, SIZER_REDIS_REQUIRE_PERSISTENCE=True
        )
        with caplog.at_level(logging.WARNING):
            runtime = Runtime.create(
                settings, RecordingExecutor(), http=True, redis=server.client()
            )
        runtime.pool.shutdown()
        assert "REDIS PERSISTENCE" not in caplog.text
    finally:
        server.kill()


def test_a_card_slack_keeps_refusing_is_retried_then_the_requester_is_told(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    bot = start_bot(bots, slack, private_redis, access, SIZER_WORK_LEASE_S=1)
    slack.inject_429("chat.postMessage", times=10_000, retry_after=0)
    _ask(bot)
    told = slack.wait_for(
        "chat.postEphemeral", lambda c: "could not post my reply" in str(c.params.get("text")), 20
    )
    assert told.params["user"] == "UREQUESTER"
    slack.clear_faults()
    # The sweep posts the same proposal's card later (no second sizing).
    _, ref, _ts = posted_card(slack, "items-api", timeout=20)
    assert len(bot.executor.prepared) == 1
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts is not None)


def test_a_mention_accepted_by_a_process_that_died_is_answered_by_the_next(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    from bot.slack.inbox import Inbox

    # What the dead process did before its acknowledgement: dedupe + record, nothing more.
    dead = Inbox(private_redis.client(), "sizer:", dedupe_ttl_s=3600, lease_s=1)
    event = sr.mention(ASK, "UREQUESTER", ts=THREAD)
    assert dead.accept("EvDEAD1", "event", event)
    bot = start_bot(bots, slack, private_redis, access, SIZER_WORK_LEASE_S=1)
    posted_card(slack, "items-api", thread_ts=THREAD, timeout=20)
    eventually(lambda: bot.runtime.inbox.pending() == 0)
    assert len(bot.executor.prepared) == 1
    # Slack's redelivery of the same event is still dropped.
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(event, event_id="EvDEAD1"))
    bot.runtime.pool.shutdown(wait=True)
    assert len(bot.executor.prepared) == 1


def test_a_request_that_cannot_be_finished_is_reported_to_the_person(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    from bot.slack.inbox import Inbox

    dead = Inbox(private_redis.client(), "sizer:", dedupe_ttl_s=3600, lease_s=0)
    assert dead.accept("EvDEAD2", "event", sr.mention(ASK, "UREQUESTER", ts=THREAD))
    for _ in range(3):  # three processes died on it already
        assert dead.claim("EvDEAD2") is not None
    start_bot(bots, slack, private_redis, access, SIZER_WORK_LEASE_S=1)
    slack.wait_for(
        "chat.postEphemeral", lambda c: "could not finish your request" in str(c.params["text"])
    )


def test_a_mention_shows_that_work_started_within_a_second(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    bot = start_bot(bots, slack, private_redis, access)
    assert bot.sender is not None
    sent = time.time()
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
    first = slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == THREAD)
    assert "Working on it" in text_of(first) and first.at - sent < 1.0


def test_an_interrupted_apply_slack_could_not_hear_about_is_reported_again(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    from bot.approvals.store import ProposalStore

    bot = start_bot(bots, slack, private_redis, access)
    proposal = bot.runtime.service.size(_request(), "UREQUESTER", "C1", THREAD)
    store = ProposalStore(bot.redis, "sizer:")
    slack.inject_status("chat.postMessage", 500, times=1)  # Slack refuses the first report
    approved = store.transition(proposal, proposal.model_copy(update={"state": S.APPROVED}), "x")
    eventually(lambda: any(c.status == 500 for c in slack.calls))
    slack.wait_for("chat.postMessage", lambda c: "I restarted while" in text_of(c), 10)
    assert approved.state == S.APPROVED


def test_an_approve_click_acknowledged_by_a_process_that_died_is_applied_by_the_next(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    from bot.slack.inbox import Inbox

    bot = start_bot(bots, slack, private_redis, access, SIZER_WORK_LEASE_S=1)
    _ask(bot)
    _, ref, ts = posted_card(slack, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    # What the dead process did before its acknowledgement: journal the click, nothing more.
    dead = Inbox(private_redis.client(), "sizer:", dedupe_ttl_s=3600, lease_s=1)
    click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
    assert dead.accept(f"click-{click['trigger_id']}", "approve", click)

    eventually(lambda: bot.runtime.service.get(ref.proposal_id).state == S.APPLIED, 20)
    eventually(lambda: bot.runtime.inbox.pending() == 0)
    assert len(bot.executor.applied) == 1
    assert "approved revision 1" in _said(slack)

    # A journaled click whose approval already happened is finished without a word.
    told = len([c for c in slack.calls if c.method == "chat.postEphemeral"])
    again = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
    assert dead.accept(f"click-{again['trigger_id']}", "approve", again)
    eventually(lambda: bot.runtime.inbox.pending() == 0)
    bot.runtime.pool.shutdown(wait=True)
    assert len(bot.executor.applied) == 1
    assert len([c for c in slack.calls if c.method == "chat.postEphemeral"]) == told


def test_a_live_approve_click_leaves_no_journal_entry_and_a_redelivery_applies_nothing(
    bots: list[Runtime], slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> None:
    bot = start_bot(bots, slack, private_redis, access)
    _ask(bot)
    _, ref, ts = posted_card(slack, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    assert bot.sender is not None
    click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
    assert bot.sender.interactive(click).status == 200
    assert bot.sender.interactive(click).status == 200  # the same delivery again
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).state == S.APPLIED, 20)
    eventually(lambda: bot.runtime.inbox.pending() == 0)
    bot.runtime.pool.shutdown(wait=True)
    assert len(bot.executor.applied) == 1
    refusals = [c for c in slack.calls if c.method == "chat.postEphemeral"]
    assert refusals == []  # the redelivery was dropped, not refused as "already applied"
