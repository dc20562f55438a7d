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
from bot.approvals.models import CardRef, Proposal, ProposalState
from bot.observability.metrics import APPROVALS, COMMANDS, EVENTS
from bot.service import (
    EDIT_FIELDS,
    EditConflict,
    EditInvalid,
    ProposalService,
    ServiceError,
    rejection_note,
)
from bot.slack import blocks, wording
from bot.slack.commands import HELP, CommandError, HelpCommand, SizeCommand, parse
from bot.slack.inbox import Inbox, Work
from bot.slack.outbox import DeliveryFailed, Outbox
from bot.slack.responder import GrammarResponder, Reply, Responder
from bot.slack.workers import WorkerPool

log = logging.getLogger(__name__)
Body = dict[str, Any]
BUSY = "I'm busy with other requests right now; please try again in a minute."
WORKING = ":hourglass_flowing_sand: Working on it…"
S = ProposalState


@dataclass(frozen=True)
class Listeners:
    service: ProposalService
    responder: Responder
    grammar: GrammarResponder
    pool: WorkerPool
    deduper: EventDeduper
    outbox: Outbox
    inbox: Inbox | None = None
    work_attempts: int = 3

    def register(self, app: App) -> None:
        app.middleware(self.dedupe)
        app.command("/sizer")(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home)
        app.action(blocks.APPROVE)(self.on_approve)
        app.action(blocks.REJECT)(self.on_reject)
        app.action(blocks.EDIT)(self.on_edit)
        app.action(wording.RETRY)(self.on_retry)
        app.view(blocks.EDIT_VIEW)(self.on_edit_submit)
        app.view(blocks.REJECT_VIEW)(self.on_reject_submit)
        app.action(re.compile(rf"^{blocks.CHOOSE}-\d+$"))(self.on_choose)
        app.action(blocks.FIT)(self.on_fit)
        app.action(blocks.VIEW_MANIFEST)(self.on_view_manifest)
        app.action(blocks.VIEW_PLAN)(self.on_view_plan)

    # -- plumbing -----------------------------------------------------------------------

    def dedupe(self, body: Body, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Drop Events API redeliveries (same ``event_id``) on every replica.

        A request Sizer will answer is recorded in the inbox in the same step, before the
        acknowledgement goes back, so a crash after the ack cannot lose it.
        """
        EVENTS.labels(_kind(body)).inc()
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str):
            return next()
        event = body.get("event") or {}
        if self.inbox is not None and _answered(event):
            first = self.inbox.accept(event_id, "event", event)
            if first:
                self.inbox.hold(event_id)
        else:
            first = self.deduper.first(event_id)
        if not first:
            log.info("dropping redelivered event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    def _later(
        self,
        job: Callable[[], None],
        channel: str,
        user: str,
        thread_ts: str | None,
        *,
        work_id: str | None = None,
        about: Callable[[], Proposal | None] = lambda: None,
    ) -> None:
        """Run ``job`` on the pool; tell the person what happened if it fails.

        After an unexpected error the message says only what the store says (``about``).
        The inbox entry is finished unless delivery failed (the sweep then tries again).
        """

        def guarded() -> None:
            finished = True
            try:
                job()
            except DeliveryFailed as exc:
                finished = False
                self.outbox.tell(
                    channel,
                    user,
                    f":warning: I could not post my reply here (Slack: {exc}); I will try "
                    "again in a minute and tell you if I cannot.",
                    thread_ts,
                )
            except ServiceError as exc:
                self.outbox.tell(channel, user, wording.refusal(exc), thread_ts)
            except Exception:
                ref = secrets.token_hex(3)
                log.exception("job failed (ref %s)", ref)
                try:
                    current = about()
                except Exception:
                    current = None
                self.outbox.tell(channel, user, wording.crash_text(ref, current), thread_ts)
            finally:
                if work_id is not None and self.inbox is not None:
                    try:
                        if finished:
                            self.inbox.done(work_id)
                        else:
                            self.inbox.release(work_id)
                    except Exception:
                        log.exception("inbox entry %s not updated", work_id)

        if self.pool.submit(guarded) is None:
            self.outbox.tell(channel, user, BUSY, thread_ts)
            if work_id is not None and self.inbox is not None:
                self.inbox.done(work_id)

    # -- conversations ------------------------------------------------------------------

    def on_command(self, ack: Ack, command: Body) -> None:
        text = str(command.get("text", ""))
        try:
            parsed = parse(text)
        except CommandError as exc:
            COMMANDS.labels("invalid").inc()
            ack(response_type="ephemeral", text=str(exc))
            return
        COMMANDS.labels(type(parsed).__name__.removesuffix("Command").lower()).inc()
        if isinstance(parsed, HelpCommand):
            ack(response_type="ephemeral", text=HELP)
            return
        work_id = "cmd-" + str(command.get("trigger_id") or secrets.token_hex(8))
        if self.inbox is not None:
            if not self.inbox.accept(work_id, "command", dict(command)):
                ack()
                return
            self.inbox.hold(work_id)
        ack()
        self._command(command, work_id)

    def _command(self, command: Body, work_id: str | None) -> None:
        text = str(command.get("text", ""))
        parsed = parse(text)
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
            self.outbox.deliver(
                reply, channel=channel, user=user, thread_ts=thread_ts, work_id=work_id
            )

        self._later(job, channel, user, None, work_id=work_id)

    def _converse(self, event: Body, work_id: str | None) -> None:
        user, channel = str(event["user"]), str(event["channel"])
        thread_ts = str(event.get("thread_ts") or event["ts"])
        text = str(event.get("text", ""))
        progress = self.outbox.progress(channel, thread_ts)
        progress.start(WORKING)  # within a second of the mention, before any work

        def job() -> None:
            reply = self.responder.respond(text, user, channel, thread_ts, progress)
            progress.finish()
            self.outbox.deliver(
                reply, channel=channel, user=user, thread_ts=thread_ts, work_id=work_id
            )

        self._later(job, channel, user, thread_ts, work_id=work_id)

    def on_mention(self, event: Body, body: Body) -> None:
        self._converse(event, _event_id(body))

    def on_message(self, event: Body, body: Body) -> None:
        if not _answered(event) or event.get("type") == "app_mention":
            return
        self._converse(event, _event_id(body))

    # -- resuming ----------------------------------------------------------------------

    def resume(self, work: Work) -> None:
        """Finish a request a previous process accepted but never answered."""
        assert self.inbox is not None
        payload = work.payload
        if work.kind == "approve":
            self._resume_click(work)
            return
        if work.kind == "command":
            user, channel = str(payload["user_id"]), str(payload["channel_id"])
            thread_ts = None
        else:
            user, channel = str(payload["user"]), str(payload["channel"])
            thread_ts = str(payload.get("thread_ts") or payload["ts"])
        if "card_ts" in work.notes:
            self.inbox.done(work.id)
            return
        if work.attempts > self.work_attempts:
            self.outbox.tell(
                channel,
                user,
                ":warning: I could not finish your request "
                f"“{blocks.clip(str(payload.get('text', '')), 200)}” after "
                f"{work.attempts - 1} tries (I was restarted or Slack refused my reply). "
                "Please ask again.",
                thread_ts,
            )
            self.inbox.done(work.id)
            return
        self.inbox.hold(work.id)
        made = self.service.find(work.notes["proposal"]) if "proposal" in work.notes else None
        if made is not None:
            card_channel = work.notes.get("channel", channel)
            reply = Reply(
                text=blocks.card_text(made), blocks=blocks.proposal_card(made), new_card=made
            )

            def repost() -> None:
                self.outbox.post_card(made, reply, card_channel, made.thread_ts, work.id)

            self._later(repost, channel, user, thread_ts, work_id=work.id)
        elif work.kind == "command":
            self._command(payload, work.id)
        else:
            self._converse(payload, work.id)

    def _resume_click(self, work: Work) -> None:
        """Apply an Approve click whose process died after acknowledging it."""
        assert self.inbox is not None
        if work.attempts > self.work_attempts:
            try:
                user, channel, thread_ts = _click_place(work.payload)
            except (KeyError, TypeError):
                self.inbox.done(work.id)
                return
            self.outbox.tell(
                channel,
                user,
                f":warning: I could not finish your approval after {work.attempts - 1} tries "
                "(I was restarted). Nothing was applied by it: click Approve on the card again.",
                thread_ts,
            )
            self.inbox.done(work.id)
            return
        self.inbox.hold(work.id)
        self._approve(work.payload, work.id, resumed=True)

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
            },
            None,  # a click is not an Events API delivery: nothing to resume
        )

    def on_home(self, event: Body, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        pending = self.service.pending_for(user)
        mine = self.service.recent_for(user)
        links = _permalinks(client, [*pending, *mine])
        view = blocks.home_view(
            user, pending, mine, links=links, zone=_zone(client, user), now=time.time()
        )
        client.views_publish(user_id=user, view=view)

    # -- card buttons -------------------------------------------------------------------

    def on_approve(self, ack: Ack, body: Body) -> None:
        work_id, first = self._journal_click(body, "approve")
        ack()
        if first:
            self._approve(body, work_id)

    def _journal_click(self, body: Body, kind: str) -> tuple[str | None, bool]:
        """Record a click in the inbox before its acknowledgement, as mentions are: a process
        that dies after the ack leaves it to the next sweep instead of losing it. Returns the
        entry's id (None without an inbox) and whether this is the click's first delivery."""
        trigger = body.get("trigger_id")
        if self.inbox is None or not isinstance(trigger, str) or not trigger:
            return None, True
        work_id = f"click-{trigger}"
        if not self.inbox.accept(work_id, kind, _click_payload(body)):
            log.info("dropping redelivered click %s", work_id)
            return work_id, False
        self.inbox.hold(work_id)
        return work_id, True

    def _approve(self, body: Body, work_id: str | None, *, resumed: bool = False) -> None:
        click = self._read_click(body)
        if click is None:
            self._finish(work_id)
            return
        ref, user, channel, thread_ts = click
        if resumed:
            current = self.service.find(ref.proposal_id)
            if current is None or current.state != S.PROPOSED or current.revision != ref.revision:
                # the click took effect before its process died, or the card moved on since:
                # the card and the thread already say what happened
                self._finish(work_id)
                return
        service, outbox = self.service, self.outbox
        located = _locator(body)
        progress = outbox.progress(channel, thread_ts)

        def started(applying: Proposal) -> None:
            # Only once the approval is recorded: a refused click is told privately.
            progress.start(f":gear: <@{user}> approved revision {applying.revision}; applying…")
            outbox.update_card(located(applying))

        def job() -> None:
            try:
                done = service.approve(ref, user, progress, observe=started)
            except ServiceError as exc:
                APPROVALS.labels("refused", type(exc).__name__).inc()
                progress.finish(wording.refusal(exc))  # only if the apply had started
                self._refresh(ref, located)
                raise
            except Exception:
                current = service.find(ref.proposal_id)
                progress.finish(
                    wording.outcome_text(current) if current else ":warning: Outcome unknown."
                )
                raise
            APPROVALS.labels("approved", "").inc()
            done = located(done)
            progress.finish(wording.outcome_text(done))
            outbox.update_card(done)
            offer = wording.next_step(done)
            if offer is not None:
                outbox.say(channel, offer[0], thread_ts, offer[1])

        self._later(
            job,
            channel,
            user,
            thread_ts,
            work_id=work_id,
            about=lambda: service.find(ref.proposal_id),
        )

    def _finish(self, work_id: str | None) -> None:
        if work_id is not None and self.inbox is not None:
            self.inbox.done(work_id)

    def on_retry(self, ack: Ack, body: Body) -> None:
        """ "Raise memory and retry": a new proposal, posted as a card in the same thread."""
        ack()
        proposal_id = str(body["actions"][0]["value"])
        user, channel, thread_ts = _click_place(body)

        def job() -> None:
            made = self.service.retry_with_more_memory(proposal_id, user)
            reply = Reply(
                text=blocks.card_text(made), blocks=blocks.proposal_card(made), new_card=made
            )
            self.outbox.post_card(made, reply, channel, made.thread_ts or thread_ts, None)

        self._later(job, channel, user, thread_ts)

    def on_reject(self, ack: Ack, body: Body, client: WebClient) -> None:
        """Open the Reject form (reason optional) if the clicker may reject this card now."""
        ack()
        click = self._read_click(body)
        if click is None:
            return
        ref, user, channel, thread_ts = click
        try:  # the trigger_id is valid for 3 s, so the form opens here, not on the pool
            proposal = self.service.rejectable(ref, user)
        except ServiceError as exc:
            self.outbox.tell(channel, user, wording.refusal(exc), thread_ts)
            self._refresh(ref, _locator(body))
            return
        container = body.get("container") or {}
        form = blocks.RejectForm(
            ref=ref,
            channel=container.get("channel_id") or channel,
            message_ts=container.get("message_ts"),
            thread_ts=thread_ts,
        )
        try:
            client.views_open(
                trigger_id=body["trigger_id"], view=blocks.reject_modal(proposal, form)
            )
        except SlackApiError as exc:
            log.warning("reject form not opened for %s: %s", user, exc.response.get("error"))
            self.outbox.tell(
                channel,
                user,
                "Slack did not open the Reject form, so nothing was rejected; click Reject again.",
                thread_ts,
            )

    def on_reject_submit(self, ack: Ack, body: Body, view: Body) -> None:
        """Reject with the form's reason: a bad reason is answered in the form, the rest after.

        A submission is taken once (its view id, on every replica), and the store's
        compare-and-set lets one rejection through however many forms were opened.
        """
        user = str(body["user"]["id"])
        try:
            form = blocks.RejectForm.decode(str(view.get("private_metadata", "")))
        except ValueError:
            ack(
                response_action="errors",
                errors={blocks.REASON: "this form is damaged; close it and click Reject again"},
            )
            return
        state = view.get("state", {}).get("values", {})
        raw = str((state.get(blocks.REASON, {}).get("value") or {}).get("value") or "")
        try:
            note = rejection_note(raw)
        except ServiceError as exc:
            ack(response_action="errors", errors={blocks.REASON: blocks.clip(str(exc), 150)})
            return
        view_id = view.get("id")
        if isinstance(view_id, str) and not self.deduper.first(f"view:{view_id}"):
            log.info("dropping a repeated submission of view %s", view_id)
            ack()
            return
        ack()
        ref = form.ref
        proposal = self.service.find(ref.proposal_id)
        channel = (proposal.channel if proposal else None) or form.channel or user
        thread_ts = (proposal.thread_ts if proposal else None) or form.thread_ts
        located = _placed(form.channel, form.message_ts)

        def job() -> None:
            try:
                done = self.service.reject(ref, user, note)
            except ServiceError:
                self._refresh(ref, located)
                raise
            self.outbox.update_card(located(done))

        self._later(job, channel, user, thread_ts)

    def on_edit(self, ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        click = self._read_click(body)
        if click is None:
            return
        ref, user, channel, thread_ts = click
        try:  # the trigger_id is valid for 3 s, so the form opens here, not on the pool
            proposal = self.service.editable(ref, user)
        except ServiceError as exc:
            self.outbox.tell(channel, user, wording.refusal(exc), thread_ts)
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
        proposal = self.service.find(ref.proposal_id)
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
        proposal = self.service.find(ref.proposal_id)
        channel = (proposal.channel if proposal else None) or user
        thread_ts = proposal.thread_ts if proposal else None

        def job() -> None:
            done = self.service.edit(ref, user, values)
            self.outbox.update_card(done)
            self.outbox.say(channel, wording.edited_text(done), thread_ts)

        self._later(job, channel, user, thread_ts)

    def _read_click(self, body: Body) -> tuple[CardRef, str, str, str | None] | None:
        """The click, or None after telling the person the button was damaged."""
        try:
            return _click(body)
        except (ValueError, KeyError, TypeError, IndexError):
            user = (body.get("user") or {}).get("id")
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
                "channel_id"
            )
            log.warning("unreadable button value from %s in %s", user, channel)
            if isinstance(user, str) and isinstance(channel, str):
                self.outbox.tell(
                    channel,
                    user,
                    "That button's data is damaged, so nothing was done. Use the buttons on "
                    "the newest card, or `/sizer status ID`.",
                    None,
                )
            return None

    def _refresh(self, ref: CardRef, located: Callable[[Proposal], Proposal]) -> None:
        """After a refused click, make the card show the real state again."""
        try:
            current = self.service.find(ref.proposal_id)
        except Exception:
            log.exception("could not read %s to refresh its card", ref.proposal_id)
            return
        if current is not None:
            self.outbox.update_card(located(current))


def _answered(event: Body) -> bool:
    """Events Sizer replies to: mentions and direct messages from people."""
    if event.get("type") == "app_mention":
        return True
    return (
        event.get("type") == "message"
        and event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
    )


def _event_id(body: Body) -> str | None:
    event_id = body.get("event_id")
    return event_id if isinstance(event_id, str) else None


def _kind(body: Body) -> str:
    """What a Slack request is, from a fixed vocabulary (never user text)."""
    if body.get("type") == "event_callback":
        event_type = str(body.get("event", {}).get("type", ""))
        return event_type if event_type in _EVENT_TYPES else "other_event"
    if body.get("command"):
        return "command"
    kind = str(body.get("type", ""))
    return kind if kind in ("block_actions", "view_submission", "view_closed") else "other"


_EVENT_TYPES = frozenset({"app_mention", "message", "app_home_opened"})


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


def _click_place(body: Body) -> tuple[str, str, str | None]:
    """Who clicked, in which channel and thread."""
    user = str(body["user"]["id"])
    channel = str(body.get("channel", {}).get("id") or body["container"]["channel_id"])
    message = body.get("message", {})
    thread_ts = message.get("thread_ts") or message.get("ts")
    return user, channel, str(thread_ts) if thread_ts else None


def _click_payload(body: Body) -> dict[str, Any]:
    """What a journaled click keeps of Slack's payload: who, where, which button."""
    message = body.get("message") or {}
    actions = body.get("actions") or [{}]
    return {
        "trigger_id": body.get("trigger_id"),
        "user": {"id": (body.get("user") or {}).get("id")},
        "channel": {"id": (body.get("channel") or {}).get("id")},
        "container": body.get("container") or {},
        "message": {"ts": message.get("ts"), "thread_ts": message.get("thread_ts")},
        "actions": [{"value": actions[0].get("value")}],
    }


def _click(body: Body) -> tuple[CardRef, str, str, str | None]:
    ref = CardRef.decode(str(body["actions"][0]["value"]))
    return (ref, *_click_place(body))


def _locator(body: Body) -> Callable[[Proposal], Proposal]:
    """Fill in the card's location from the click when the store does not have it yet.

    A click can arrive before the worker that posted the card has recorded where it is.
    """
    container = body.get("container", {})
    return _placed(container.get("channel_id"), container.get("message_ts"))


def _placed(channel: object, ts: object) -> Callable[[Proposal], Proposal]:
    """:func:`_locator` for a card whose place is known some other way (a form's metadata)."""

    def located(proposal: Proposal) -> Proposal:
        if proposal.message_ts is not None or not channel or not ts:
            return proposal
        return proposal.model_copy(update={"channel": str(channel), "message_ts": str(ts)})

    return located
