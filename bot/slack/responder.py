"""Turning what someone typed into a reply, behind a small protocol.

Mentions and direct messages go through a :class:`Responder`, so a conversational agent can
replace the grammar without touching the Slack plumbing. :class:`GrammarResponder` answers the
``/sizer`` grammar and, for anything that is not a command, the help text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.approvals.models import Proposal
from bot.executors.base import Progress
from bot.service import ProposalService, ServiceError
from bot.slack import blocks, wording
from bot.slack.charts import usage_chart
from bot.slack.commands import (
    HELP,
    Command,
    CommandError,
    HelpCommand,
    ResolveCommand,
    SizeCommand,
    StatusCommand,
    UnknownVerb,
    WhyCommand,
    parse,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What to post back in the thread (or privately, when ``ephemeral``)."""

    text: str
    blocks: list[blocks.Block] | None = None
    ephemeral: bool = False
    new_card: Proposal | None = None  # the reply is this proposal's card: remember where
    changed: Proposal | None = None  # this proposal's existing card must be re-rendered
    image: bytes | None = None
    image_name: str = "chart.png"


def why_chart(service: ProposalService, proposal: Proposal) -> bytes | None:
    """The usage chart that goes with every "why" answer, or None if it cannot be drawn."""
    try:
        return usage_chart(proposal, service.peers_of(proposal), service.live_profile(proposal))
    except Exception:  # a chart is a nicety; the reasons must still be answered
        log.exception("chart failed for %s", proposal.id)
        return None


class Responder(Protocol):
    def respond(
        self, text: str, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply: ...


class GrammarResponder:
    def __init__(self, service: ProposalService) -> None:
        self._service = service

    def respond(
        self, text: str, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply:
        try:
            command = parse(text)
        except UnknownVerb:
            return Reply(text=HELP)
        except CommandError as exc:
            return Reply(text=str(exc), ephemeral=True)
        return self.execute(command, user, channel, thread_ts, progress)

    def execute(
        self, command: Command, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply:
        try:
            return self._execute(command, user, channel, thread_ts, progress)
        except ServiceError as exc:
            return Reply(text=wording.refusal(exc), ephemeral=True)

    def _execute(
        self, command: Command, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply:
        service = self._service
        if isinstance(command, HelpCommand):
            return Reply(text=HELP)
        if isinstance(command, SizeCommand):
            proposal = service.size(command.request, user, channel, thread_ts, progress)
            return Reply(
                text=blocks.card_text(proposal),
                blocks=blocks.proposal_card(proposal),
                new_card=proposal,
            )
        if isinstance(command, WhyCommand):
            answer = service.why(command.target)
            return Reply(
                text=blocks.why_text(answer),
                blocks=blocks.why_blocks(answer, detail=command.detail),
                image=why_chart(service, answer.proposal),
                image_name=f"why-{answer.proposal.workload}.png",
            )
        if isinstance(command, StatusCommand):
            proposal = service.get(command.proposal_id)
            trail = service.trail(proposal.id)
            return Reply(
                text=blocks.card_text(proposal), blocks=blocks.status_blocks(proposal, trail)
            )
        if isinstance(command, ResolveCommand):
            done = service.resolve(command.proposal_id, command.outcome, user, command.note)
            return Reply(text=f"`{done.id}` resolved as {done.state} by <@{user}>.", changed=done)
        raise AssertionError(f"unhandled command {command!r}")
