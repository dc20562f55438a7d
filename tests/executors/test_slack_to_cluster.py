"""The whole product path through its real parts: a Slack mention → proposal card → an
authorised Approve click → Ansible render → Terraform saved plan → server-side apply on the
Kubernetes API → rollout → the card updated, with the audit trail in Redis.

Slack and the Kubernetes API server are the HTTP emulators; Redis, ansible-runner and the
Terraform engine are real."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.approvals.models import CardRef, ProposalState
from bot.executors.kubernetes import KubeApi
from bot.slack.runtime import Runtime
from tests.approvals.doubles import redis_prefix
from tests.emulators import slack_requests as sr
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.executors.conftest import NAMESPACE, make_executor, make_settings
from tests.slack.conftest import ACCESS_YAML, SECRET
from tests.slack.scenario import button, card_update, is_card, posted_card, text_of
from tools.sizing.quantities import parse_cpu, parse_memory

ASK = (
    "size items-api --language python --framework fastapi --rps 50-100 "
    f"--similar recommendationservice --namespace {NAMESPACE} "
    "--image nginxinc/nginx-unprivileged:1.27-alpine"
)
THREAD = "1700000000.000001"


@pytest.fixture
def bot(
    tmp_path: Path, terraform_bin: str, emulator: KubeEmulator
) -> Iterator[tuple[Runtime, SlackEmulator, sr.SignedSender]]:
    slack = SlackEmulator(groups={}).start()
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS_YAML)
    with redis_prefix() as (client, prefix):
        settings = make_settings(
            tmp_path,
            terraform_bin,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.url,
            SIZER_REDIS_PREFIX=prefix,
            SIZER_ACCESS_FILE=str(access),
            SIZER_WORKERS=2,
        )
        kube = KubeApi.from_configuration(emulator.configuration())
        runtime = Runtime.create(settings, make_executor(settings, kube), http=True, redis=client)
        runtime.start("127.0.0.1", 0)
        sender = sr.SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET)
        try:
            yield runtime, slack, sender
        finally:
            runtime.stop()
            slack.stop()
    assert slack.invalid == [], "the bot sent payloads Slack would reject"


def _ask_and_approve(
    runtime: Runtime, slack: SlackEmulator, sender: sr.SignedSender
) -> tuple[str, str]:
    response = sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
    assert response.status == 200 and response.seconds < 3
    call, ref, ts = posted_card(slack, "items-api", thread_ts=THREAD, timeout=60)
    shown = text_of(call)
    assert "plan sha256 `" in shown and "View plan" in shown and "View manifest" in shown
    assert "*Share*" in shown and "cluster:" in shown, "room read from the cluster at prepare"
    deadline = time.monotonic() + 10
    while runtime.service.get(ref.proposal_id).message_ts != ts:
        assert time.monotonic() < deadline, "card never attached to its proposal"
        time.sleep(0.05)
    click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
    response = sender.interactive(click)
    assert response.status == 200 and response.seconds < 3
    return ref.proposal_id, ts


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return container


def test_approved_proposal_reaches_the_cluster_exactly_as_shown(
    bot: tuple[Runtime, SlackEmulator, sr.SignedSender], emulator: KubeEmulator
) -> None:
    runtime, slack, sender = bot
    proposal_id, ts = _ask_and_approve(runtime, slack, sender)

    update = card_update(slack, ts, "Applied", timeout=60)
    assert "<@UAPPROVER>" in text_of(update)
    proposal = runtime.service.get(proposal_id)
    assert proposal.state == ProposalState.APPLIED

    live = emulator.objects[("deployments", NAMESPACE, "items-api")]
    assert live["metadata"]["annotations"]["sizer.dev/proposal-id"] == proposal_id
    sizing = proposal.current.sizing
    resources = _container(live)["resources"]
    assert live["spec"]["replicas"] == sizing.replicas
    assert parse_cpu(resources["requests"]["cpu"]) == parse_cpu(sizing.cpu_request)
    assert parse_memory(resources["requests"]["memory"]) == parse_memory(sizing.memory_request)
    assert sizing.memory_limit is not None
    assert parse_memory(resources["limits"]["memory"]) == parse_memory(sizing.memory_limit)

    trail = [e for e in runtime.service.workload_trail("items-api") if e.proposal == proposal_id]
    assert trail[0].to_state == "proposed" and trail[0].actor == "UREQUESTER"
    assert [e.to_state for e in trail[-3:]] == ["approved", "applying", "applied"]
    assert {e.actor for e in trail[-3:]} == {"UAPPROVER"}


def test_oom_at_rollout_is_rolled_back_and_the_card_says_so(
    bot: tuple[Runtime, SlackEmulator, sr.SignedSender], emulator: KubeEmulator
) -> None:
    runtime, slack, sender = bot
    emulator.script("items-api", "oom")
    proposal_id, ts = _ask_and_approve(runtime, slack, sender)

    card_update(slack, ts, "Rolled back", timeout=60)
    proposal = runtime.service.get(proposal_id)
    assert proposal.state == ProposalState.ROLLED_BACK
    assert proposal.result is not None and "OOMKilled" in (proposal.result.error or "")
    audit = [e for e in runtime.service.workload_trail("items-api") if e.proposal == proposal_id]
    assert audit[-1].to_state == "rolled_back" and "rollout" in audit[-1].reason
    # The new workload Sizer created is cleaned up by default.
    assert ("deployments", NAMESPACE, "items-api") not in emulator.objects
    # The progress message ends with what happened, never "finished".
    final = slack.wait_for(
        "chat.update", lambda c: text_of(c).startswith(":leftwards_arrow_with_hook: Rolled back")
    )
    assert "OOMKilled" in text_of(final) and "finished" not in text_of(final)
    edits = [
        c.at for c in slack.calls_of("chat.update") if c.params.get("ts") == final.params["ts"]
    ]
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(edits)), edits

    # The next step is offered: a new proposal with more memory, on a card of its own.
    offer = slack.wait_for("chat.postMessage", lambda c: "Raise memory and retry" in text_of(c))
    assert offer.params.get("thread_ts") == THREAD
    limit = proposal.current.sizing.memory_limit
    assert limit is not None
    click = sr.block_action(
        "sizer_retry_more_memory",
        proposal_id,
        "UREQUESTER",
        "C1",
        str(offer.response["ts"]),
        THREAD,
    )
    assert sender.interactive(click).status == 200
    _, ref, _ = _second_card(slack, proposal_id)
    retried = runtime.service.get(ref.proposal_id)
    assert retried.state == ProposalState.PROPOSED
    raised = retried.current.sizing.memory_limit
    assert raised is not None and parse_memory(raised) >= 1.5 * parse_memory(limit)
    assert f"retry of {proposal_id}" in retried.current.note


def _second_card(slack: SlackEmulator, first: str) -> tuple[object, CardRef, str]:
    """The card of a new proposal in the thread (not ``first``'s)."""
    call = slack.wait_for(
        "chat.postMessage",
        lambda c: is_card(c, "items-api") and first not in str(button(c, "sizer_approve")),
        60,
    )
    value = button(call, "sizer_approve")
    assert value is not None
    return call, CardRef.decode(value), str(call.response["ts"])
