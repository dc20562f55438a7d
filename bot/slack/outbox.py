"""Posting replies, progress and card updates back to Slack.

Rate limits are handled by the Web client's retry handler (429 → wait Retry-After → retry);
here a failed post is logged and never turned into a second attempt at the work itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals.models import Proposal
from bot.service import ProposalService
from bot.slack import blocks
from bot.slack.responder import Reply

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, client: WebClient, service: ProposalService) -> None:
        self._client = client
        self._service = service

    @property
    def client(self) -> WebClient:
        return self._client

    def deliver(self, reply: Reply, *, channel: str, user: str, thread_ts: str | None) -> None:
        if reply.ephemeral:
            self.tell(channel, user, reply.text, thread_ts)
        else:
            posted = self._client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=reply.text, blocks=reply.blocks
            )
            if reply.new_card is not None:
                self._service.attach_card(reply.new_card.id, str(posted["ts"]))
        if reply.image is not None:
            self._client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=reply.image,
                filename=reply.image_name,
                title=reply.image_name.removesuffix(".png"),
            )
        if reply.changed is not None:
            self.update_card(reply.changed)

    def tell(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        """A message only ``user`` sees."""
        try:
            self._client.chat_postEphemeral(
                channel=channel, user=user, text=blocks.clip(text, 3000), thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.warning(
                "ephemeral to %s in %s failed: %s", user, channel, exc.response.get("error")
            )

    def update_card(self, proposal: Proposal) -> None:
        """Re-render the card in place so it shows the state and who acted."""
        if proposal.channel is None or proposal.message_ts is None:
            return
        self._client.chat_update(
            channel=proposal.channel,
            ts=proposal.message_ts,
            text=blocks.card_text(proposal),
            blocks=blocks.proposal_card(proposal),
        )

    def post(self, channel: str, text: str, thread_ts: str | None) -> str:
        posted = self._client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        return str(posted["ts"])

    def progress(self, channel: str, thread_ts: str | Callable[[], str] | None) -> ThreadProgress:
        return ThreadProgress(self, channel, thread_ts)


class ThreadProgress:
    """Posts the first progress line in the thread, edits it after, and closes it at the end.

    ``thread_ts`` may be a function, so a thread root is only posted once there is progress.
    """

    def __init__(
        self, outbox: Outbox, channel: str, thread_ts: str | Callable[[], str] | None
    ) -> None:
        self._outbox = outbox
        self._channel = channel
        self._thread_ts = thread_ts
        self._ts: str | None = None

    def __call__(self, text: str) -> None:
        self._show(":hourglass_flowing_sand: " + text)

    def finish(self, text: str = "Done.") -> None:
        if self._ts is not None:
            self._show(":white_check_mark: " + text)

    def _show(self, line: str) -> None:
        line = blocks.clip(line, 3000)
        client = self._outbox.client
        try:
            if self._ts is not None:
                client.chat_update(channel=self._channel, ts=self._ts, text=line)
            else:
                thread = self._thread_ts() if callable(self._thread_ts) else self._thread_ts
                self._ts = self._outbox.post(self._channel, line, thread)
        except SlackApiError as exc:
            log.warning("progress post failed: %s", exc.response.get("error"))
