"""The same conversations over Socket Mode: envelopes on a websocket, acks checked."""

from __future__ import annotations

from bot.approvals.models import ProposalState
from tests.emulators import slack_requests as sr
from tests.slack.conftest import StartBot
from tests.slack.scenario import card_update, is_card, posted_card

ASK = "size items-api --language python --rps 50-100 --namespace team-a"


def test_ask_and_approve_over_socket_mode(start_bot: StartBot) -> None:
    bot = start_bot(http=False)
    emulator = bot.emulator
    assert emulator.socket_connected.wait(10)
    assert emulator.calls_of("apps.connections.open")

    envelope = emulator.send_envelope("events_api", sr.event_callback(sr.mention(ASK, "UREQ")))
    assert emulator.wait_ack(envelope).seconds < 3
    _, ref, ts = posted_card(emulator, "items-api", thread_ts="1700000000.000001")

    click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts)
    assert emulator.wait_ack(emulator.send_envelope("interactive", click)).seconds < 3
    card_update(emulator, ts, "Applied")
    assert len(bot.executor.applied) == 1
    assert bot.runtime.service.get(ref.proposal_id).state == ProposalState.APPLIED


def test_redelivered_envelope_is_acked_but_not_answered_twice(start_bot: StartBot) -> None:
    bot = start_bot(http=False)
    emulator = bot.emulator
    body = sr.event_callback(sr.mention(ASK, "UREQ"), event_id="EvSOCKET1")
    first = emulator.send_envelope("events_api", body)
    again = emulator.send_envelope("events_api", body, retry_attempt=1)
    emulator.wait_ack(first)
    emulator.wait_ack(again)
    posted_card(emulator, "items-api")
    bot.runtime.pool.shutdown(wait=True)
    assert len(bot.executor.prepared) == 1
    assert emulator.count("chat.postMessage", lambda c: is_card(c)) == 1


def test_slash_command_errors_come_back_in_the_ack(start_bot: StartBot) -> None:
    bot = start_bot(http=False)
    emulator = bot.emulator
    envelope = emulator.send_envelope("slash_commands", sr.slash("size items-api --rps x", "U1"))
    ack = emulator.wait_ack(envelope)
    assert ack.payload is not None
    assert "a number (80) or a range (50-100)" in ack.payload["text"]
