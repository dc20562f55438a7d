"""A conversation with the built-in planner through the real Bolt app and the Slack emulator:
bare answers fill the slot asked about, peers are found by meaning (buttons when ambiguous),
the image is asked for and shown, follow-ups edit, and "why" answers in plain words with the
chart and says who changed what."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from bot.slack.runtime import Runtime
from bot.wiring import Components
from tests.approvals.doubles import Clock, RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.emulators.slack_api import Call, SlackEmulator
from tests.slack.conftest import settings_for
from tests.slack.scenario import eventually, posted_card, text_of

THREAD = "1700000200.000001"
IMAGE = "ghcr.io/acme/items-api:1.4.2"


@pytest.fixture
def bot(
    emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], access_file: Path
) -> Iterator[tuple[Runtime, sr.SignedSender]]:
    client, prefix = rp
    runtime = Runtime.create(
        settings_for(emulator, prefix, access_file),
        RecordingExecutor(),
        http=True,
        redis=client,
        build_responder=Components.agent_responder,
        clock=Clock(1_700_000_000.0),
    )
    runtime.start("127.0.0.1", 0)
    sender = sr.SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", "test-signing-secret")
    yield runtime, sender
    runtime.stop()


def say(sender: sr.SignedSender, text: str, n: int, user: str = "UREQUESTER") -> None:
    event = sr.mention(f"<@UBOT> {text}", user, ts=f"1700000200.{n:06d}")
    if n > 1:
        event["thread_ts"] = THREAD
    assert sender.event(sr.event_callback(event)).status == 200


def reply(emulator: SlackEmulator, contains: str) -> Call:
    return emulator.wait_for(
        "chat.postMessage",
        lambda c: c.params.get("thread_ts") == THREAD and contains in text_of(c),
        timeout=30,
    )


def test_a_thread_from_question_to_why(
    bot: tuple[Runtime, sr.SignedSender], emulator: SlackEmulator
) -> None:
    runtime, sender = bot
    say(sender, "size a new service, python fastapi, 50-100 rps, like the cart service", 1)
    reply(emulator, "What should the new service be called?")
    say(sender, "items-api", 2)  # a bare answer fills the name
    reply(emulator, "Which container image should `items-api` run?")
    say(sender, IMAGE, 3)
    call, ref, _ = posted_card(emulator, "items-api", thread_ts=THREAD, timeout=30)
    text = text_of(call)
    assert "using cartservice as the similar service" in text
    assert f"*Image* `{IMAGE}`" in text
    proposal = runtime.service.get(ref.proposal_id)
    assert proposal.request["similar"] == ["cartservice"]
    assert f"image: {IMAGE}" in proposal.current.change.manifest_yaml
    before = proposal.current.sizing.memory_request

    say(sender, "give it more memory", 4)
    eventually(lambda: runtime.service.get(ref.proposal_id).revision == 2, timeout=30)
    after = runtime.service.get(ref.proposal_id).current.sizing.memory_request
    assert after != before

    say(sender, "why so much memory?", 5, user="UOTHER")
    why = reply(emulator, "we reserve")
    assert "Sizer proposed: similar Python services use about" in text_of(why)
    assert f"<@UREQUESTER> changed the memory request from {before} to {after}" in text_of(why)
    emulator.wait_for("files.completeUploadExternal", timeout=30)
    assert any(data.startswith(b"\x89PNG") for data in emulator.uploads.values())

    say(sender, "show the manifest", 6)
    assert IMAGE in text_of(reply(emulator, "would apply"))


def test_an_ambiguous_peer_is_asked_with_buttons(
    bot: tuple[Runtime, sr.SignedSender], emulator: SlackEmulator
) -> None:
    runtime, sender = bot
    say(sender, f"size items-api like the order service, 80 rps, image {IMAGE}", 1)
    question = reply(emulator, "Which one did you mean by “order service”?")
    actions = next(b for b in question.params["blocks"] if b["type"] == "actions")
    values = [e["value"] for e in actions["elements"]]
    assert "ts-order-service" in values
    index = values.index("ts-order-service")
    click = sr.block_action(
        f"sizer_choose-{index}",
        "ts-order-service",
        "UREQUESTER",
        "C1",
        str(question.response["ts"]),
        THREAD,
    )
    assert sender.interactive(click).status == 200
    _, ref, _ = posted_card(emulator, "items-api", thread_ts=THREAD, timeout=30)
    assert runtime.service.get(ref.proposal_id).request["similar"] == ["ts-order-service"]


def test_a_refused_value_is_said_not_guessed(
    bot: tuple[Runtime, sr.SignedSender], emulator: SlackEmulator
) -> None:
    _, sender = bot
    say(sender, f"size items-api --rps 5e3 --image {IMAGE}", 1)
    assert "no exponents" in text_of(reply(emulator, "--rps '5e3'"))
    say(sender, "size items-api --rps 80 --namespace Team_A", 2)
    reply(emulator, "'Team_A' is not a valid Kubernetes name")
