"""Bolt listeners: acknowledge at once, then parse → service → render on the worker pool.

Nothing here decides anything: authorisation, freshness and exactly-once live in
:class:`~bot.service.ProposalService`; these functions only move Slack payloads in and out.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals.locks import EventDeduper
from bot.approvals.models import CardRef, Proposal
from bot.service import EDIT_FIELDS, EditConflict, EditInvalid, ProposalService, ServiceError
from bot.slack import blocks
from bot.slack.commands import HELP, CommandError, HelpCommand, SizeCommand, parse
from bot.slack.outbox import Outbox
from bot.slack.responder import GrammarResponder, Responder
from bot.slack.workers import WorkerPool

log = logging.getLogger(__name__)
Body = dict[str, Any]
BUSY = "I'm busy with other requests right now; please try again in a minute."


@dataclass(frozen=True)
class Listeners:
    service: ProposalService
    responder: Responder
    grammar: GrammarResponder
    pool: WorkerPool
    deduper: EventDeduper
    outbox: Outbox

    def register(self, app: App) -> None:
        app.middleware(self.dedupe)
        app.command("/sizer")(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home)
        app.action(blocks.APPROVE)(self.on_approve)
        app.action(blocks.REJECT)(self.on_reject)
        app.action(blocks.EDIT)(self.on_edit)
        app.view(blocks.EDIT_VIEW)(self.on_edit_submit)
        app.action(re.compile(rf"^{blocks.CHOOSE}-\d+$"))(self.on_choose)
        app.action(blocks.FIT)(self.on_fit)
        app.action(blocks.VIEW_MANIFEST)(self.on_view_manifest)
        app.action(blocks.VIEW_PLAN)(self.on_view_plan)

    # -- plumbing -----------------------------------------------------------------------

    def dedupe(self, body: Body, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Drop Events API redeliveries (same ``event_id``) on every replica."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not self.deduper.first(event_id):
            log.info("dropping redelivered event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    def _later(
        self, job: Callable[[], None], channel: str, user: str, thread_ts: str | None
    ) -> None:
        def guarded() -> None:
            try:
                job()
            except ServiceError as exc:
                self.outbox.tell(channel, user, str(exc), thread_ts)
            except Exception:
                ref = secrets.token_hex(3)
                log.exception("job failed (ref %s)", ref)
                self.outbox.tell(
                    channel,
                    user,
                    f"Something went wrong on my side (ref {ref}); nothing "
                    "was applied. The team can find the details in the bot's log.",
                    thread_ts,
                )

        if self.pool.submit(guarded) is None:
            self.outbox.tell(channel, user, BUSY, thread_ts)

    # -- conversations ------------------------------------------------------------------

    def on_command(self, ack: Ack, command: Body) -> None:
        text = str(command.get("text", ""))
        try:
            parsed = parse(text)
        except CommandError as exc:
            ack(response_type="ephemeral", text=str(exc))
            return
        if isinstance(parsed, HelpCommand):
            ack(response_type="ephemeral", text=HELP)
            return
        ack()
        user, channel = str(command["user_id"]), str(command["channel_id"])

        asked = f"<@{user}> asked: `/sizer {blocks.clip(text, 500)}`"
        roots: list[str] = []

        def root() -> str:
            # A slash command has no message to thread under: post one, only when needed.
            if not roots:
                roots.append(self.outbox.post(channel, asked, None))
            return roots[0]

        def job() -> None:
            progress = self.outbox.progress(channel, root)
            # A proposal remembers its thread, so sizing opens the thread up front.
            thread = root() if isinstance(parsed, SizeCommand) else ""
            reply = self.grammar.execute(parsed, user, channel, thread, progress)
            progress.finish()
            thread_ts = None if reply.ephemeral and not roots else root()
            self.outbox.deliver(reply, channel=channel, user=user, thread_ts=thread_ts)

        self._later(job, channel, user, None)

    def _converse(self, event: Body) -> None:
        user, channel = str(event["user"]), str(event["channel"])
        thread_ts = str(event.get("thread_ts") or event["ts"])
        text = str(event.get("text", ""))

        def job() -> None:
            progress = self.outbox.progress(channel, thread_ts)
            reply = self.responder.respond(text, user, channel, thread_ts, progress)
            progress.finish()
            self.outbox.deliver(reply, channel=channel, user=user, thread_ts=thread_ts)

        self._later(job, channel, user, thread_ts)

    def on_mention(self, event: Body) -> None:
        self._converse(event)

    def on_message(self, event: Body) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        self._converse(event)

    def on_choose(self, ack: Ack, body: Body) -> None:
        """A button answering Sizer's "which one did you mean?": the choice, as if typed."""
        ack()
        action = body["actions"][0]
        message = body.get("message", {})
        channel = body.get("channel", {}).get("id") or body["container"]["channel_id"]
        thread_ts = message.get("thread_ts") or message.get("ts")
        self._converse(
            {
                "user": body["user"]["id"],
                "channel": channel,
                "ts": thread_ts,
                "thread_ts": thread_ts,
                "text": str(action.get("value", ""))[:80],
            }
        )

    def on_home(self, event: Body, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        pending = self.service.pending_for(user)
        mine = self.service.store.recent_for(user)
        links = _permalinks(client, [*pending, *mine])
        view = blocks.home_view(
            user, pending, mine, links=links, zone=_zone(client, user), now=time.time()
        )
        client.views_publish(user_id=user, view=view)

    # -- card buttons -------------------------------------------------------------------

    def on_approve(self, ack: Ack, body: Body) -> None:
        ack()
        ref, user, channel, thread_ts = _click(body)
        service, outbox = self.service, self.outbox
        located = _locator(body)

        def job() -> None:
            progress = outbox.progress(channel, thread_ts)
            try:
                done = service.approve(
                    ref, user, progress, observe=lambda p: outbox.update_card(located(p))
                )
            except ServiceError:
                self._refresh(ref, located)
                raise
            done = located(done)
            progress.finish("Apply finished.")
            outbox.update_card(done)
            outbox.post(channel, blocks.state_line(done), thread_ts)

        self._later(job, channel, user, thread_ts)

    def on_reject(self, ack: Ack, body: Body) -> None:
        ack()
        ref, user, channel, thread_ts = _click(body)
        located = _locator(body)

        def job() -> None:
            try:
                done = self.service.reject(ref, user)
            except ServiceError:
                self._refresh(ref, located)
                raise
            self.outbox.update_card(located(done))

        self._later(job, channel, user, thread_ts)

    def on_edit(self, ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        ref, user, channel, thread_ts = _click(body)
        try:  # the trigger_id is valid for 3 s, so the form opens here, not on the pool
            proposal = self.service.editable(ref, user)
        except ServiceError as exc:
            self.outbox.tell(channel, user, str(exc), thread_ts)
            return
        bound = self.service.policy_for(proposal.namespace).max_replicas
        client.views_open(trigger_id=body["trigger_id"], view=blocks.edit_modal(proposal, bound))

    def on_fit(self, ack: Ack, body: Body) -> None:
        """ "Use N replicas": a new revision at the nearest size that fits, still unapproved."""
        ack()
        ref, user, channel, thread_ts = _click(body)
        located = _locator(body)

        def job() -> None:
            try:
                done = self.service.fit_to_room(ref, user)
            except ServiceError:
                self._refresh(ref, located)
                raise
            self.outbox.update_card(located(done))
            self.outbox.post(channel, f"Revision {done.revision}: {done.current.note}", thread_ts)

        self._later(job, channel, user, thread_ts)

    def on_view_manifest(self, ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        self._view(body, client, "manifest")

    def on_view_plan(self, ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        self._view(body, client, "plan")

    def _view(self, body: Body, client: WebClient, kind: str) -> None:
        """Open the manifest or plan of the revision the clicked card showed (read-only)."""
        ref, user, channel, thread_ts = _click(body)
        proposal = self.service.store.get(ref.proposal_id)
        if proposal is None:
            gone = f"proposal {ref.proposal_id} no longer exists"
            self.outbox.tell(channel, user, gone, thread_ts)
            return
        client.views_open(
            trigger_id=body["trigger_id"], view=blocks.artifact_view(proposal, ref, kind)
        )

    def on_edit_submit(self, ack: Ack, body: Body, view: Body) -> None:
        user = str(body["user"]["id"])
        try:
            ref = CardRef.decode(str(view.get("private_metadata", "")))
        except ValueError:
            ack(response_action="errors", errors={"replicas": "this form is damaged; reopen it"})
            return
        state = view.get("state", {}).get("values", {})
        values = {
            f: str((state.get(f, {}).get("value") or {}).get("value") or "") for f in EDIT_FIELDS
        }
        try:
            self.service.check_edit(ref, user, values)
        except EditConflict as exc:
            who = _name(self.outbox.client, exc.author)
            verb = "is saving" if exc.saving else "saved"
            message = f"@{who} {verb} revision {exc.revision} while you were editing; reopen Edit"
            ack(response_action="errors", errors={"replicas": blocks.clip(message, 150)})
            return
        except EditInvalid as exc:
            ack(
                response_action="errors",
                errors={k: blocks.clip(v, 150) for k, v in exc.errors.items()},
            )
            return
        except ServiceError as exc:
            ack(response_action="errors", errors={"replicas": blocks.clip(str(exc), 150)})
            return
        ack()
        proposal = self.service.store.get(ref.proposal_id)
        channel = (proposal.channel if proposal else None) or user
        thread_ts = proposal.thread_ts if proposal else None

        def job() -> None:
            done = self.service.edit(ref, user, values)
            self.outbox.update_card(done)
            self.outbox.post(channel, f"Revision {done.revision}: {done.current.note}", thread_ts)

        self._later(job, channel, user, thread_ts)

    def _refresh(self, ref: CardRef, located: Callable[[Proposal], Proposal]) -> None:
        """After a refused click, make the card show the real state again."""
        current: Proposal | None = self.service.store.get(ref.proposal_id)
        if current is not None:
            try:
                self.outbox.update_card(located(current))
            except Exception:
                log.exception("could not refresh card %s", ref.proposal_id)


def _name(client: WebClient, user: str) -> str:
    """A person's display name for plain-text places (modal errors), or their ID."""
    try:
        info = client.users_info(user=user)["user"]
    except (SlackApiError, KeyError, TypeError):
        return user
    profile = info.get("profile") or {}
    return str(profile.get("display_name") or info.get("real_name") or info.get("name") or user)


def _zone(client: WebClient, user: str) -> tzinfo:
    """The viewer's time zone from their Slack profile; UTC when unknown."""
    try:
        name = client.users_info(user=user)["user"].get("tz")
        return ZoneInfo(str(name)) if name else UTC
    except (SlackApiError, KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
        return UTC


def _permalinks(client: WebClient, proposals: list[Proposal]) -> dict[str, str]:
    """Links to each card that has been posted (chat.getPermalink), skipping failures."""
    links: dict[str, str] = {}
    for p in proposals:
        if p.id in links or p.channel is None or p.message_ts is None:
            continue
        try:
            found = client.chat_getPermalink(channel=p.channel, message_ts=p.message_ts)
        except SlackApiError as exc:
            log.warning("no permalink for %s: %s", p.id, exc.response.get("error"))
            continue
        link = found.get("permalink")
        if isinstance(link, str):
            links[p.id] = link
    return links


def _click(body: Body) -> tuple[CardRef, str, str, str | None]:
    action = body["actions"][0]
    ref = CardRef.decode(str(action["value"]))
    user = str(body["user"]["id"])
    channel = str(body.get("channel", {}).get("id") or body["container"]["channel_id"])
    message = body.get("message", {})
    thread_ts = message.get("thread_ts") or message.get("ts")
    return ref, user, channel, str(thread_ts) if thread_ts else None


def _locator(body: Body) -> Callable[[Proposal], Proposal]:
    """Fill in the card's location from the click when the store does not have it yet.

    A click can arrive before the worker that posted the card has recorded where it is.
    """
    container = body.get("container", {})
    channel, ts = container.get("channel_id"), container.get("message_ts")

    def located(proposal: Proposal) -> Proposal:
        if proposal.message_ts is not None or not channel or not ts:
            return proposal
        return proposal.model_copy(update={"channel": str(channel), "message_ts": str(ts)})

    return located
