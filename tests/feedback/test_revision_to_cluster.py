"""A check's revision takes the same road as the first proposal: a Slack card, an authorised
Approve click, Ansible render, Terraform, server-side apply on the Kubernetes API.

Slack and the Kubernetes API server are the HTTP emulators; Redis, rq, Prometheus (the lab
trace with OOM kills at a 256 Mi limit), ansible-runner and the Terraform engine are real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.approvals.models import CardRef, ProposalState
from bot.executors.kubernetes import KubeApi
from bot.slack.runtime import Runtime
from tests.approvals.doubles import Clock, redis_prefix
from tests.emulators import slack_requests as sr
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.executors.conftest import make_executor, make_settings, terraform_bin
from tests.feedback.helpers import burst
from tests.prometheus.conftest import PromServer
from tests.slack.conftest import SECRET
from tests.slack.scenario import button, card_update, is_card, text_of
from tools.sizing.quantities import parse_memory

__all__ = ["terraform_bin"]

THREAD = "1700000000.000007"
ACCESS = "namespaces:\n  lab:\n    approvers: {users: [UAPPROVER]}\n"
ASK = (
    "size orders --language python --framework flask --rps 10-30 --namespace lab "
    "--image nginxinc/nginx-unprivileged:1.27-alpine"
)


@pytest.fixture
def cluster() -> Iterator[KubeEmulator]:
    emu = KubeEmulator(kubernetes_version="1.31")
    for index in range(3):
        emu.add_node(f"hv-{index + 1}", cpu="8", memory="32Gi")
    emu.add_namespace("lab")
    emu.start()
    yield emu
    emu.stop()


def _card(slack: SlackEmulator, revision: int) -> tuple[CardRef, str]:
    def wanted(call: object) -> bool:
        value = button(call, "sizer_approve")  # type: ignore[arg-type]
        return (
            is_card(call, "orders")  # type: ignore[arg-type]
            and value is not None
            and CardRef.decode(value).revision == revision
        )

    call = slack.wait_for("chat.postMessage", wanted, 60)
    value = button(call, "sizer_approve")
    assert value is not None
    return CardRef.decode(value), str(call.response["ts"])


def test_the_memory_raise_after_an_oom_reaches_the_cluster_through_the_approval_path(
    tmp_path: Path, terraform_bin: str, cluster: KubeEmulator, prom: PromServer
) -> None:
    slack = SlackEmulator(groups={}).start()
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS)
    clock = Clock(time.time() - 86_400 - 60)  # applied a day ago: its checks are due
    with redis_prefix() as (client, prefix):
        settings = make_settings(
            tmp_path,
            terraform_bin,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.url,
            SIZER_REDIS_PREFIX=prefix,
            SIZER_ACCESS_FILE=str(access),
            PROMETHEUS_URL=prom.url,
            SIZER_CHECK_RETRY_BASE_S=0,
        )
        kube = KubeApi.from_configuration(cluster.configuration())
        runtime = Runtime.create(
            settings, make_executor(settings, kube), http=True, redis=client, clock=clock
        )
        runtime.start("127.0.0.1", 0)
        sender = sr.SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET)
        try:
            sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
            first, ts = _card(slack, 1)
            assert "bundled demo history" in text_of(
                next(c for c in slack.calls if c.response.get("ts") == ts)
            )
            _wait_attached(runtime, first.proposal_id, ts)
            sender.interactive(
                sr.block_action("sizer_approve", first.encode(), "UAPPROVER", "C1", ts, THREAD)
            )
            card_update(slack, ts, "Applied", timeout=60)
            assert runtime.parts is not None

            assert burst(runtime.parts)  # the launch check and the 24 h report are due

            report = slack.wait_for(
                "chat.postMessage", lambda c: "Report after 24 h" in str(c.params.get("text")), 5
            )
            assert report.params["thread_ts"] == THREAD and "no OOM kill" in text_of(report)
            upload = [c for c in slack.calls if "files" in c.method]
            assert upload, "the chart is uploaded to the thread"
            second, ts2 = _card(slack, 2)
            shown = text_of(next(c for c in slack.calls if c.response.get("ts") == ts2))
            assert "memory raise after" in shown and "OOM kill" in shown
            _wait_attached(runtime, second.proposal_id, ts2)

            # the requester may not approve their own change; the approver may
            sender.interactive(
                sr.block_action("sizer_approve", second.encode(), "UREQUESTER", "C1", ts2, THREAD)
            )
            sender.interactive(
                sr.block_action("sizer_approve", second.encode(), "UAPPROVER", "C1", ts2, THREAD)
            )
            card_update(slack, ts2, "Applied", timeout=60)
        finally:
            runtime.stop()
            slack.stop()
        proposal = runtime.service.get(second.proposal_id)
        assert proposal.state == ProposalState.APPLIED and proposal.revision == 2
        live = cluster.objects[("deployments", "lab", "orders")]
        limits = live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        wanted = proposal.current.sizing.memory_limit
        assert wanted is not None and parse_memory(limits["memory"]) == parse_memory(wanted)
        assert parse_memory(wanted) > 300 * 2**20  # above the largest sample of the trace
        trail = runtime.service.trail(proposal.id)
        states = [(e.event, e.to_state, e.actor) for e in trail]
        assert ("denied", "proposed", "UREQUESTER") in states
        assert [s[1] for s in states if s[0] == "transition"][-4:] == [
            "proposed",
            "approved",
            "applying",
            "applied",
        ]
        # the new revision's checks are scheduled too
        applied = runtime.parts.check_scheduler.applied_revisions.all()  # type: ignore[union-attr]
        assert applied[proposal.id][0] == 2


def _wait_attached(runtime: Runtime, proposal_id: str, ts: str) -> None:
    deadline = time.monotonic() + 10
    while runtime.service.get(proposal_id).message_ts != ts:
        assert time.monotonic() < deadline, "card never attached to its proposal"
        time.sleep(0.05)
