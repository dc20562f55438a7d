"""Start-up of the Slack bot: check every credential, take the parts, serve, tidy, stop.

The parts come from the composition root (:class:`bot.wiring.Components`); this module adds
what only the Slack side needs (the Web client, user groups, the Bolt app, the worker pool).
The executor is built last, after Slack and Redis answered, so a bad token is reported
before any cluster or Terraform set-up is attempted.

A missing or wrong credential stops start-up with :class:`StartupError`, whose one-line message
names the variable to fix. Proposals left ``approved``/``applying`` by a previous process are
reported in their threads at start, and an approver resolves them with ``/sizer resolve``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis as redis_lib
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approvals.access import GroupDirectory
from bot.approvals.locks import EventDeduper
from bot.approvals.models import Proposal
from bot.executors.base import Executor
from bot.follow import PullRequestFollower
from bot.service import LiveUsage, ProposalService
from bot.settings import Settings, SlackSettings
from bot.slack import blocks
from bot.slack.app import Parts, SlackGroups, build_app, web_client
from bot.slack.http import SlackHTTPServer
from bot.slack.outbox import Outbox
from bot.slack.responder import Responder
from bot.slack.workers import WorkerPool
from bot.wiring import Components, StartupError

__all__ = ["Runtime", "StartupError", "check_settings", "check_slack"]

log = logging.getLogger(__name__)
SWEEP_INTERVAL_S = 60.0


def check_settings(settings: SlackSettings, *, http: bool) -> None:
    """Presence and shape of the Slack credentials, before anything connects."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        raise StartupError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-...)")
    if not settings.bot_token.get_secret_value().startswith("xoxb-"):
        raise StartupError("SLACK_BOT_TOKEN is not a bot token: it must start with xoxb-")
    if http:
        secret = settings.signing_secret
        if secret is None or not secret.get_secret_value():
            raise StartupError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request")
    else:
        token = settings.app_token
        if token is None or not token.get_secret_value():
            raise StartupError("SLACK_APP_TOKEN is not set: Socket Mode needs the app token")
        if not token.get_secret_value().startswith("xapp-"):
            raise StartupError(
                "SLACK_APP_TOKEN is not an app-level token: it must start with xapp-"
            )


@contextmanager
def _quiet_sdk() -> Iterator[None]:
    # The SDK logs each failed attempt; start-up reports the failure once, as one line.
    sdk = logging.getLogger("slack_sdk")
    level = sdk.level
    sdk.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        sdk.setLevel(level)


def check_slack(client: WebClient, settings: SlackSettings, *, http: bool) -> str:
    """Ask Slack whether the tokens work; returns the bot's user ID."""
    with _quiet_sdk():
        return _check_slack(client, settings, http=http)


def _check_slack(client: WebClient, settings: SlackSettings, *, http: bool) -> str:
    try:
        bot = client.auth_test()
    except SlackApiError as exc:
        raise StartupError(
            f"SLACK_BOT_TOKEN was rejected by Slack ({exc.response.get('error')})"
        ) from None
    except OSError as exc:
        raise StartupError(f"SLACK_API_URL {settings.api_url} is unreachable: {exc}") from None
    if not http:
        assert settings.app_token is not None
        try:
            client.apps_connections_open(app_token=settings.app_token.get_secret_value())
        except SlackApiError as exc:
            raise StartupError(
                f"SLACK_APP_TOKEN was rejected by Slack ({exc.response.get('error')})"
            ) from None
    return str(bot.get("user_id", ""))


@dataclass
class Runtime:
    settings: Settings
    client: WebClient
    service: ProposalService
    executor: Executor
    app: App
    pool: WorkerPool
    outbox: Outbox
    http: bool
    parts: Components | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _server: SlackHTTPServer | None = None
    _socket: SocketModeHandler | None = None
    follower: PullRequestFollower | None = None

    @classmethod
    def create(
        cls,
        settings: Settings,
        executor: Executor | None = None,
        *,
        build_executor: Callable[[Settings], Executor] | None = None,
        http: bool,
        redis: redis_lib.Redis | None = None,
        client: WebClient | None = None,
        groups: GroupDirectory | None = None,
        responder: Responder | None = None,
        build_responder: Callable[[Components], Responder] | None = None,
        clock: Callable[[], float] = time.time,
        live_usage: LiveUsage | None = None,
    ) -> Runtime:
        """Check the credentials, then take the parts from the composition root in order."""
        check_settings(settings.slack, http=http)
        client = client or web_client(settings.slack)
        parts = Components(
            settings,
            redis=redis,
            executor=executor,
            build_executor=build_executor,
            groups=groups or SlackGroups(client),
            live_usage=live_usage,
            clock=clock,
        )
        parts.access  # noqa: B018 -- a bad access file stops start-up before anything connects
        parts.redis  # noqa: B018
        check_slack(client, settings.slack, http=http)
        service = parts.service  # builds the executor last
        if responder is None and build_responder is not None:
            responder = build_responder(parts)
        pool = WorkerPool(settings.runtime.workers, settings.runtime.worker_queue)
        app = build_app(
            Parts(
                settings=settings.slack,
                client=client,
                service=service,
                pool=pool,
                deduper=EventDeduper(
                    parts.redis, settings.redis.prefix, settings.approvals.event_dedupe_ttl_s
                ),
                responder=responder,
            ),
            http=http,
        )
        outbox = Outbox(client, service)
        runtime = cls(settings, client, service, parts.executor, app, pool, outbox, http, parts)
        follower = parts.follower
        if follower.active:
            follower.on_change = runtime.show_followed
            runtime.follower = follower
        return runtime

    def start(self, host: str = "0.0.0.0", port: int = 3000) -> None:
        """Report interrupted applies, start housekeeping, then listen (without blocking)."""
        self.report_interrupted()
        sweeper = threading.Thread(target=self._sweep_forever, name="sizer-sweep", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)
        if self.follower is not None:
            follow = threading.Thread(target=self._follow_forever, name="sizer-follow", daemon=True)
            follow.start()
            self._threads.append(follow)
        if self.http:
            self._server = SlackHTTPServer(self.app, host, port)
            self._threads.append(self._server.start())
            log.info("serving Slack HTTP events on %s:%d/slack/events", host, self._server.port)
        else:
            assert self.settings.slack.app_token is not None
            self._socket = SocketModeHandler(
                self.app,
                app_token=self.settings.slack.app_token.get_secret_value(),
                web_client=self.client,
            )
            self._socket.connect()  # type: ignore[no-untyped-call]
            log.info("connected to Slack in Socket Mode")

    @property
    def port(self) -> int | None:
        return self._server.port if self._server is not None else None

    def wait(self) -> None:
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._socket is not None:
            self._socket.close()  # type: ignore[no-untyped-call]
        self.pool.shutdown(wait=True)

    def report_interrupted(self) -> list[str]:
        """Say in each thread which applies a previous process left unfinished."""
        found = self.service.interrupted()
        for proposal in found:
            log.warning("interrupted: %s (%s) was %s", proposal.id, proposal.key, proposal.state)
            if proposal.channel:
                try:
                    self.outbox.post(
                        proposal.channel, blocks.interrupted_text(proposal), proposal.thread_ts
                    )
                except SlackApiError as exc:
                    log.warning("could not report %s: %s", proposal.id, exc)
        return [p.id for p in found]

    def sweep(self) -> None:
        for proposal in self.service.expire_due():
            try:
                self.outbox.update_card(proposal)
            except SlackApiError as exc:
                log.warning("could not mark %s expired on its card: %s", proposal.id, exc)

    def show_followed(self, proposal: Proposal) -> None:
        """A GitOps pull request merged or closed, or the rollout seen: card and thread."""
        try:
            self.outbox.update_card(proposal)
            if proposal.channel:
                self.outbox.post(proposal.channel, blocks.state_line(proposal), proposal.thread_ts)
        except SlackApiError as exc:
            log.warning("could not show %s on its card: %s", proposal.id, exc)

    def _follow_forever(self) -> None:
        assert self.follower is not None
        while not self._stop.wait(self.settings.gitops.poll_interval_s):
            try:
                self.follower.poll()
            except Exception:
                log.exception("pull request follow-up failed")

    def _sweep_forever(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL_S):
            try:
                self.sweep()
            except Exception:
                log.exception("expiry sweep failed")
