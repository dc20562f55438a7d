"""Posting replies, progress and card updates back to Slack.

Rate limits are first handled by the Web client's retry handler (429 → wait Retry-After →
retry). A failure to talk to Slack never changes what happened: card updates and notices are
logged and dropped (the store stays the truth; the next update shows it), while a new card —
the only way anyone can see a proposal — is retried with backoff and, if Slack still refuses
it, raises :class:`DeliveryFailed` so the caller tells the requester and the request stays in
the :class:`~bot.slack.inbox.Inbox` for the sweep to try again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals.models import Proposal
from bot.service import ProposalService
from bot.slack import blocks
from bot.slack.inbox import Inbox
from bot.slack.progress import ThreadProgress
from bot.slack.responder import Reply

__all__ = ["DeliveryFailed", "Outbox"]

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """Slack refused a card after every retry; ``str()`` is Slack's last error."""


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


class Outbox:
    def __init__(
        self,
        client: WebClient,
        service: ProposalService,
        *,
        inbox: Inbox | None = None,
        attempts: int = 4,
        backoff_s: float = 2.0,
        progress_interval_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._service = service
        self._inbox = inbox
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._interval = progress_interval_s
        self._sleep = sleep

    @property
    def client(self) -> WebClient:
        return self._client

    def deliver(
        self,
        reply: Reply,
        *,
        channel: str,
        user: str,
        thread_ts: str | None,
        work_id: str | None = None,
    ) -> None:
        if reply.ephemeral:
            self.tell(channel, user, reply.text, thread_ts)
        elif reply.new_card is not None:
            self.post_card(reply.new_card, reply, channel, thread_ts, work_id)
        else:
            self.say(channel, reply.text, thread_ts, reply.blocks)
        if reply.image is not None:
            try:
                self._client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread_ts,
                    content=reply.image,
                    filename=reply.image_name,
                    title=reply.image_name.removesuffix(".png"),
                )
            except (SlackApiError, OSError) as exc:  # a chart is a nicety
                log.warning("chart upload failed: %s", _error(exc))
        if reply.changed is not None:
            self.update_card(reply.changed)

    def post_card(
        self,
        proposal: Proposal,
        reply: Reply,
        channel: str,
        thread_ts: str | None,
        work_id: str | None,
    ) -> str:
        """Post a new card with backoff; record where it is. Raises :class:`DeliveryFailed`."""
        if work_id is not None and self._inbox is not None:
            self._inbox.note(work_id, proposal=proposal.id, channel=channel)
        last: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                posted = self._client.chat_postMessage(
                    channel=channel, thread_ts=thread_ts, text=reply.text, blocks=reply.blocks
                )
            except (SlackApiError, OSError) as exc:
                last = exc
                log.warning("card %s not posted (%d): %s", proposal.id, attempt + 1, _error(exc))
                continue
            ts = str(posted["ts"])
            self._service.attach_card(proposal.id, ts)
            if work_id is not None and self._inbox is not None:
                self._inbox.note(work_id, card_ts=ts)
            return ts
        raise DeliveryFailed(_error(last) if last is not None else "no attempt made")

    def tell(self, channel: str, user: str, text: str, thread_ts: str | None) -> bool:
        """A message only ``user`` sees; False if Slack refused it."""
        try:
            self._client.chat_postEphemeral(
                channel=channel, user=user, text=blocks.clip(text, 3000), thread_ts=thread_ts
            )
        except (SlackApiError, OSError) as exc:
            log.warning("ephemeral to %s in %s failed: %s", user, channel, _error(exc))
            return False
        return True

    def update_card(self, proposal: Proposal) -> bool:
        """Re-render the card in place; False (logged) if Slack refused — the store is unchanged."""
        if proposal.channel is None or proposal.message_ts is None:
            return False
        try:
            self._client.chat_update(
                channel=proposal.channel,
                ts=proposal.message_ts,
                text=blocks.card_text(proposal),
                blocks=blocks.proposal_card(proposal),
            )
        except (SlackApiError, OSError) as exc:
            log.warning("card %s not updated: %s", proposal.id, _error(exc))
            return False
        return True

    def post(self, channel: str, text: str, thread_ts: str | None) -> str:
        """Post and return the message ts; raises when Slack refuses (the caller needs the ts)."""
        posted = self._client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        return str(posted["ts"])

    def say(
        self,
        channel: str,
        text: str,
        thread_ts: str | None,
        message_blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Post a message; False (logged) if Slack refused it."""
        try:
            self._client.chat_postMessage(
                channel=channel, text=text, thread_ts=thread_ts, blocks=message_blocks
            )
        except (SlackApiError, OSError) as exc:
            log.warning("message to %s not posted: %s", channel, _error(exc))
            return False
        return True

    def progress(self, channel: str, thread_ts: str | Callable[[], str] | None) -> ThreadProgress:
        return ThreadProgress(self, channel, thread_ts, min_interval_s=self._interval)
