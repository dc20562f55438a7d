"""Plain-language mentions reach the agent (the built-in planner here, no LLM configured) and
come back as a proposal card in the thread; follow-ups in the thread edit the same proposal."""

from __future__ import annotations

from pathlib import Path

import redis as redis_lib

from bot.approvals.models import ProposalState
from bot.slack.runtime import Runtime
from bot.wiring import Components
from tests.approvals.doubles import Clock, RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.emulators.slack_api import SlackEmulator
from tests.slack.conftest import settings_for
from tests.slack.scenario import eventually, posted_card, text_of

THREAD = "1700000100.000001"


def test_free_text_request_becomes_a_card_and_a_follow_up_edits_it(
    emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], access_file: Path
) -> None:
    client, prefix = rp
    settings = settings_for(emulator, prefix, access_file)
    runtime = Runtime.create(
        settings,
        RecordingExecutor(),
        http=True,
        redis=client,
        build_responder=Components.agent_responder,
        clock=Clock(1_700_000_000.0),
    )
    runtime.start("127.0.0.1", 0)
    try:
        sender = sr.SignedSender(
            f"http://127.0.0.1:{runtime.port}/slack/events", "test-signing-secret"
        )
        ask = (
            "<@UBOT> can you size `items-api` in namespace team-a? a FastAPI service doing "
            "~80 rps, similar to recommendationservice, image ghcr.io/acme/items-api:1.4.2"
        )
        response = sender.event(sr.event_callback(sr.mention(ask, "UREQUESTER", ts=THREAD)))
        assert response.status == 200 and response.seconds < 3
        call, ref, _ = posted_card(emulator, "items-api", thread_ts=THREAD, timeout=30)
        assert "recommendationservice" in text_of(call)
        proposal = runtime.service.get(ref.proposal_id)
        assert proposal.namespace == "team-a" and proposal.state == ProposalState.PROPOSED
        assert proposal.requester == "UREQUESTER"

        follow = sr.mention("<@UBOT> make it 4 replicas", "UREQUESTER", ts="1700000101.000001")
        follow["thread_ts"] = THREAD
        sender.event(sr.event_callback(follow))
        eventually(lambda: runtime.service.get(ref.proposal_id).revision == 2, timeout=30)
        assert runtime.service.get(ref.proposal_id).current.sizing.replicas == 4
    finally:
        runtime.stop()
