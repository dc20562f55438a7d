"""A real ``sizer serve --http`` process, SIGKILLed mid-apply and right after acknowledging a
mention; the next process (started within the lock TTL) reports or finishes the work.

Slack and the Kubernetes API are the emulators; Redis (a server of the test's own), Ansible and
the Terraform engine are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.approvals.models import ProposalState
from bot.executors.kubernetes import KubeApi
from bot.slack.runtime import Runtime
from tests.emulators import slack_requests as sr
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.executors.conftest import NAMESPACE, TF_MIRROR, make_executor, make_settings
from tests.faults.conftest import PrivateRedis, free_port
from tests.slack.conftest import ACCESS_YAML, SECRET
from tests.slack.scenario import card_update, eventually, posted_card, text_of

S = ProposalState
ASK = (
    "size items-api --language python --framework fastapi --rps 50-100 "
    f"--similar recommendationservice --namespace {NAMESPACE} --image ghcr.io/acme/items-api:1.4.2"
)
THREAD = "1700000000.000001"
PREFIX = "sizer:"


@pytest.fixture
def world(
    tmp_path: Path, private_redis: PrivateRedis, slack: SlackEmulator, emulator: KubeEmulator
) -> Iterator[dict[str, object]]:
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS_YAML)
    yield {"tmp": tmp_path, "access": access}


def _serve(
    tmp: Path,
    access: Path,
    redis: PrivateRedis,
    slack: SlackEmulator,
    kube: KubeEmulator,
    terraform_bin: str,
) -> tuple[subprocess.Popen[bytes], sr.SignedSender]:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "REDIS_URL": redis.url,
        "SIZER_REDIS_PREFIX": PREFIX,
        "SIZER_ACCESS_FILE": str(access),
        "KUBECONFIG": str(kube.write_kubeconfig(tmp / "kubeconfig")),
        "SIZER_WORK_DIR": str(tmp / "work-1"),
        "SIZER_TERRAFORM_DIR": str(TF_MIRROR),
        "SIZER_TERRAFORM_BIN": terraform_bin,
        "SIZER_ROLLOUT_TIMEOUT_S": "120",
        "SIZER_APPLY_LOCK_TTL_S": "4",
        "SIZER_WORK_LEASE_S": "3",
    }
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "serve.log").open("wb"),
    )
    sender = sr.SignedSender(f"http://127.0.0.1:{port}/slack/events", SECRET)
    deadline = time.monotonic() + 60
    while True:
        try:
            if (
                sender.event({"type": "url_verification", "challenge": "c", "token": "t"}).status
                == 200
            ):
                return process, sender
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError((tmp / "serve.log").read_text()[-3000:])
        time.sleep(0.2)


def _next_process(
    tmp: Path,
    access: Path,
    redis: PrivateRedis,
    slack: SlackEmulator,
    kube: KubeEmulator,
    terraform_bin: str,
) -> Runtime:
    settings = make_settings(
        tmp,
        terraform_bin,
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.url,
        REDIS_URL=redis.url,
        SIZER_REDIS_PREFIX=PREFIX,
        SIZER_ACCESS_FILE=str(access),
        SIZER_WORK_DIR=str(tmp / "work-2"),
        SIZER_APPLY_LOCK_TTL_S=4,
        SIZER_SWEEP_INTERVAL_S=0.5,
        SIZER_WORK_LEASE_S=3,
    )
    kube_api = KubeApi.from_configuration(kube.configuration())
    runtime = Runtime.create(
        settings, make_executor(settings, kube_api), http=True, redis=redis.client()
    )
    runtime.start("127.0.0.1", 0)
    return runtime


def test_sigkill_during_the_rollout_is_reported_by_the_next_process_within_the_ttl(
    world: dict[str, object],
    private_redis: PrivateRedis,
    slack: SlackEmulator,
    emulator: KubeEmulator,
    terraform_bin: str,
) -> None:
    tmp, access = Path(str(world["tmp"])), Path(str(world["access"]))
    emulator.script("items-api", "never")
    process, sender = _serve(tmp, access, private_redis, slack, emulator, terraform_bin)
    try:
        sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
        _, ref, ts = posted_card(slack, "items-api", thread_ts=THREAD, timeout=90)
        time.sleep(0.5)  # the card is attached to its proposal
        click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
        assert sender.interactive(click).status == 200
        eventually(lambda: ("deployments", NAMESPACE, "items-api") in emulator.objects, 90)
        time.sleep(0.5)  # watching the rollout
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    killed_at = time.monotonic()
    runtime = _next_process(tmp, access, private_redis, slack, emulator, terraform_bin)
    try:
        report = slack.wait_for("chat.postMessage", lambda c: "I restarted while" in text_of(c), 20)
        assert report.params.get("thread_ts") == THREAD and ref.proposal_id in text_of(report)
        assert time.monotonic() - killed_at < 15
        cmd = sr.slash(f"resolve {ref.proposal_id} failed never became ready", "UAPPROVER")
        new_sender = sr.SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET)
        new_sender.command(cmd)
        slack.wait_for("chat.postMessage", lambda c: "resolved as failed" in text_of(c), 20)
        card_update(slack, ts, "Failed", timeout=20)
        assert runtime.service.get(ref.proposal_id).state == S.FAILED
    finally:
        runtime.stop()


def test_sigkill_right_after_a_mention_was_acknowledged_still_answers_it(
    world: dict[str, object],
    private_redis: PrivateRedis,
    slack: SlackEmulator,
    emulator: KubeEmulator,
    terraform_bin: str,
) -> None:
    tmp, access = Path(str(world["tmp"])), Path(str(world["access"]))
    process, sender = _serve(tmp, access, private_redis, slack, emulator, terraform_bin)
    try:
        response = sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
        assert response.status == 200
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert not any("Sizing proposal" in text_of(c) for c in slack.calls)
    runtime = _next_process(tmp, access, private_redis, slack, emulator, terraform_bin)
    try:
        posted_card(slack, "items-api", thread_ts=THREAD, timeout=90)
        eventually(lambda: runtime.inbox.pending() == 0, 20)
    finally:
        runtime.stop()
