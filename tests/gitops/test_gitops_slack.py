"""GitOps through the real Bolt app: a mention → card → Approve → a pull request on the card
→ merged → "Merged; the GitOps controller will roll it out" → the workload seen with the
proposal's annotation → applied. Slack, GitHub and the Kubernetes API are HTTP emulators;
Redis and the git repository are real."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.approvals.models import ProposalState
from bot.executors.gitops import branch_name
from bot.executors.kubernetes import KubeApi
from bot.slack.runtime import Runtime
from tests.approvals.doubles import redis_prefix
from tests.emulators import slack_requests as sr
from tests.emulators.git_providers import ProviderEmulator
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.gitops.conftest import PROJECT, TOKEN, Remote, make_gitops
from tests.slack.conftest import ACCESS_YAML, SECRET, settings_for
from tests.slack.scenario import card_update, eventually, posted_card, text_of

ASK = (
    "size items-api --language python --rps 50-100 --namespace team-a "
    "--image ghcr.io/acme/items-api:1.4.2"
)
THREAD = "1700000000.000001"
S = ProposalState


@dataclass
class GitOpsBot:
    runtime: Runtime
    slack: SlackEmulator
    github: ProviderEmulator
    kube: KubeEmulator
    sender: sr.SignedSender


@contextmanager
def running_bot(remote: Remote, tmp_path: Path, poll_s: float) -> Iterator[GitOpsBot]:
    slack = SlackEmulator(groups={}).start()
    github = ProviderEmulator("github", PROJECT, remote.bare, TOKEN).start()
    kube = KubeEmulator()
    kube.start()
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS_YAML)
    with redis_prefix() as (client, prefix):
        settings = settings_for(
            slack, prefix, access, SIZER_APPLY_MODE="gitops", SIZER_GITOPS_POLL_S=poll_s
        )
        executor = make_gitops(
            remote,
            tmp_path,
            github,
            KubeApi.from_configuration(kube.configuration()),
            cluster="default",
        )
        runtime = Runtime.create(settings, executor, http=True, redis=client)
        runtime.start("127.0.0.1", 0)
        sender = sr.SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET)
        try:
            yield GitOpsBot(runtime, slack, github, kube, sender)
        finally:
            runtime.stop()
            kube.stop()
            github.stop()
            slack.stop()
    assert slack.invalid == [], "the bot sent payloads Slack would reject"


@pytest.fixture
def bot(remote: Remote, tmp_path: Path) -> Iterator[GitOpsBot]:
    """The follow-up thread sleeps for an hour: the tests poll by hand, step by step."""
    with running_bot(remote, tmp_path, poll_s=3600) as running:
        yield running


def _approve(bot: GitOpsBot, user: str = "UAPPROVER") -> tuple[str, str]:
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
    call, ref, ts = posted_card(bot.slack, "items-api", thread_ts=THREAD, timeout=30)
    shown = text_of(call)
    assert "commits revision 1" in shown and "a pull request is opened" in shown
    assert "GitOps" in shown and "Sizer applies nothing" in shown
    assert "default/team-a/items-api.yaml" in shown
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    click = sr.block_action("sizer_approve", ref.encode(), user, "C1", ts, THREAD)
    assert bot.sender.interactive(click).status == 200
    # a double click: a second interaction (its own trigger_id), not a redelivery of the first
    bot.sender.interactive(sr.block_action("sizer_approve", ref.encode(), user, "C1", ts, THREAD))
    return ref.proposal_id, ts


def test_approval_opens_a_pull_request_and_the_card_follows_it_to_the_cluster(
    bot: GitOpsBot, remote: Remote
) -> None:
    proposal_id, ts = _approve(bot)

    opened = card_update(bot.slack, ts, "Pull request opened", timeout=30)
    assert "https://github.example/platform/deploy/pull/1" in text_of(opened)
    proposal = bot.runtime.service.get(proposal_id)
    assert proposal.state == S.SUBMITTED and proposal.cluster is None
    branch = branch_name(proposal_id, 1)
    assert remote.show(branch, "default/team-a/items-api.yaml") == (
        proposal.current.change.manifest_yaml
    )
    assert len(bot.github.requests) == 1 and remote.branches() == ["main", branch]
    assert bot.kube.objects == {} or not any(k[0] == "deployments" for k in bot.kube.objects)

    follower = bot.runtime.follower
    assert follower is not None
    assert follower.poll() == []  # still open: nothing moves
    bot.github.merge(1)
    assert [p.state for p in follower.poll()] == [S.MERGED]
    card_update(bot.slack, ts, "Merged; the GitOps controller will roll it out")
    assert follower.poll() == []  # merged, not yet in the cluster

    bot.kube.seed(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "items-api",
                "namespace": "team-a",
                "annotations": {"sizer.dev/proposal-id": proposal_id, "sizer.dev/revision": "1"},
            },
            "spec": {
                "replicas": proposal.current.sizing.replicas,
                "selector": {"matchLabels": {"app": "items-api"}},
                "template": {
                    "metadata": {"labels": {"app": "items-api"}},
                    "spec": {"containers": [{"name": "app", "image": "registry.local/x:1"}]},
                },
            },
        }
    )
    assert [p.state for p in follower.poll()] == [S.APPLIED]
    card_update(bot.slack, ts, "Applied")
    trail = [(e.event, e.to_state) for e in bot.runtime.service.trail(proposal_id)]
    assert any(t[0] == "denied" for t in trail), "the double click is refused and audited"
    trail = [t for t in trail if t[0] == "transition"]
    assert [t[1] for t in trail[-5:]] == ["approved", "applying", "submitted", "merged", "applied"]


def test_a_pull_request_closed_unmerged_is_said_on_the_card(bot: GitOpsBot) -> None:
    proposal_id, ts = _approve(bot)
    card_update(bot.slack, ts, "Pull request opened", timeout=30)
    bot.github.close(1)
    assert bot.runtime.follower is not None
    assert [p.state for p in bot.runtime.follower.poll()] == [S.CLOSED]
    card_update(bot.slack, ts, "Closed without merging")
    assert bot.runtime.service.get(proposal_id).state == S.CLOSED


def test_a_base_changed_since_the_proposal_shows_the_conflict_on_the_card(
    bot: GitOpsBot, remote: Remote
) -> None:
    path = "default/team-a/items-api.yaml"
    remote.commit_on_main(path, "replicas: 2\n")
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts=THREAD)))
    _, ref, ts = posted_card(bot.slack, "items-api", thread_ts=THREAD, timeout=30)
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    remote.commit_on_main(path, "replicas: 7  # incident\n", "incident")
    click = sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, THREAD)
    bot.sender.interactive(click)

    failed = text_of(card_update(bot.slack, ts, "Conflict", timeout=30))
    assert "-replicas: 2" in failed and "+replicas: 7  # incident" in failed
    assert "nothing was committed or pushed" in failed
    assert bot.runtime.service.get(ref.proposal_id).state == S.FAILED
    assert remote.branches() == ["main"] and bot.github.requests == []
    assert remote.show("main", path) == "replicas: 7  # incident\n"


def test_the_follow_up_thread_updates_the_card_on_its_own(remote: Remote, tmp_path: Path) -> None:
    with running_bot(remote, tmp_path, poll_s=1) as bot:
        _, ts = _approve(bot)
        card_update(bot.slack, ts, "Pull request opened", timeout=30)
        bot.github.merge(1)
        card_update(bot.slack, ts, "Merged; the GitOps controller will roll it out", timeout=15)
        said = bot.slack.wait_for(
            "chat.postMessage",
            lambda c: "Merged; the GitOps controller" in str(c.params.get("text")),
            15,
        )
        assert said.params.get("thread_ts") == THREAD
