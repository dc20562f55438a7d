"""Reports into the proposal's Slack thread: the message, the chart, and a new card."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot.approvals.models import Proposal
from bot.service import ProposalService
from bot.slack import blocks

__all__ = ["SlackThreads"]

log = logging.getLogger(__name__)


class SlackThreads:
    """Posts where the proposal was asked; a proposal from the terminal has no thread."""

    def __init__(self, client: WebClient, service: ProposalService) -> None:
        self._client = client
        self._service = service

    @staticmethod
    def _thread(proposal: Proposal) -> str | None:
        return proposal.thread_ts or proposal.message_ts

    def post(self, proposal: Proposal, text: str, blocks_: list[dict[str, Any]]) -> None:
        if proposal.channel is None:
            log.info("%s has no Slack thread; report: %s", proposal.id, text)
            return
        self._client.chat_postMessage(
            channel=proposal.channel,
            thread_ts=self._thread(proposal),
            text=blocks.clip(text, blocks.MAX_FALLBACK),
            blocks=blocks_,
        )

    def upload(self, proposal: Proposal, png: bytes, filename: str, title: str) -> None:
        if proposal.channel is None:
            return
        self._client.files_upload_v2(
            channel=proposal.channel,
            thread_ts=self._thread(proposal),
            content=png,
            filename=filename,
            title=title,
        )

    def card(self, proposal: Proposal) -> None:
        """The new revision's card, with Approve / Edit / Reject, attached to the proposal."""
        if proposal.channel is None:
            return
        posted = self._client.chat_postMessage(
            channel=proposal.channel,
            thread_ts=self._thread(proposal),
            text=blocks.card_text(proposal),
            blocks=blocks.proposal_card(proposal),
        )
        self._service.attach_card(proposal.id, str(posted["ts"]))
