"""Start-up of the Slack bot: check every credential, take the parts, serve, tidy, stop.

The parts come from the composition root (:class:`bot.wiring.Components`); this module adds
what only the Slack side needs (the Web client, user groups, the Bolt app, the worker pool).
The executor is built last, after Slack and Redis answered, so a bad token is reported
before any cluster or Terraform set-up is attempted.

A missing or wrong credential stops start-up with :class:`StartupError`, whose one-line message
names the variable to fix; Redis without persistence is warned about loudly (or refused with
``SIZER_REDIS_REQUIRE_PERSISTENCE``). At start and then every ``SIZER_SWEEP_INTERVAL_S`` the
sweep expires old proposals, reports each apply a dead process left ``approved``/``applying``
(once its lock lapsed; an approver resolves it with ``/sizer resolve``), and resumes requests
that were acknowledged to Slack but never answered.
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
from bot.approvals.persistence import check_persistence
from bot.executors.base import Executor
from bot.follow import PullRequestFollower
from bot.observability.metrics import PROPOSAL_STATES, SCHEDULED_CHECKS
from bot.observability.probes import Probes, ProbeServer
from bot.observability.readiness import Readiness
from bot.service import LiveUsage, ProposalService
from bot.settings import RedisSettings, Settings, SlackSettings
from bot.slack import blocks
from bot.slack.app import Parts, SlackGroups, build_app, web_client
from bot.slack.http import SlackHTTPServer
from bot.slack.inbox import Inbox
from bot.slack.listeners import Listeners
from bot.slack.outbox import Outbox
from bot.slack.responder import Responder
from bot.slack.workers import WorkerPool
from bot.wiring import Components, StartupError

__all__ = ["Runtime", "StartupError", "check_redis", "check_settings", "check_slack"]

log = logging.getLogger(__name__)


def check_redis(redis: redis_lib.Redis, settings: RedisSettings) -> None:
    """Warn loudly about a Redis that forgets on restart; refuse it when so configured."""
    found = check_persistence(redis)
    if found.problem is None:
        return
    if not found.durable and settings.require_persistence:
        raise StartupError(f"REDIS_URL: {found.problem} (SIZER_REDIS_REQUIRE_PERSISTENCE is set)")
    log.warning("REDIS PERSISTENCE: %s", found.problem)


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
    probes: Probes
    listeners: Listeners
    inbox: Inbox
    parts: Components | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _server: SlackHTTPServer | None = None
    _socket: SocketModeHandler | None = None
    _probe_server: ProbeServer | None = None
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
        readiness: Readiness | None = None,
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
        check_redis(parts.redis, settings.redis)
        check_slack(client, settings.slack, http=http)
        service = parts.service  # builds the executor last
        if responder is None and build_responder is not None:
            responder = build_responder(parts)
        pool = WorkerPool(settings.runtime.workers, settings.runtime.worker_queue)
        inbox = Inbox(
            parts.redis,
            settings.redis.prefix,
            dedupe_ttl_s=settings.approvals.event_dedupe_ttl_s,
            lease_s=settings.runtime.work_lease_s,
        )
        slack = settings.slack
        outbox = Outbox(
            client,
            service,
            inbox=inbox,
            attempts=slack.delivery_attempts,
            backoff_s=slack.delivery_backoff_s,
            progress_interval_s=slack.progress_interval_s,
        )
        app, listeners = build_app(
            Parts(
                settings=settings.slack,
                client=client,
                service=service,
                pool=pool,
                deduper=EventDeduper(
                    parts.redis, settings.redis.prefix, settings.approvals.event_dedupe_ttl_s
                ),
                responder=responder,
                inbox=inbox,
                outbox=outbox,
                work_attempts=settings.runtime.work_attempts,
            ),
            http=http,
        )
        probes = Probes(readiness or Readiness.from_settings(settings, parts.redis))
        runtime = cls(
            settings,
            client,
            service,
            parts.executor,
            app,
            pool,
            outbox,
            http,
            probes,
            listeners,
            inbox,
            parts,
        )
        follower = parts.follower
        if follower.active:
            follower.on_change = runtime.show_followed
            runtime.follower = follower
        return runtime

    def start(self, host: str = "0.0.0.0", port: int = 3000) -> None:
        """Bind the probe port, sweep once (interrupted applies, unanswered requests), start
        housekeeping, then listen (without blocking)."""
        try:
            self._probe_server = ProbeServer(self.probes, host, self.settings.runtime.health_port)
        except OSError as exc:
            raise StartupError(
                f"SIZER_HEALTH_PORT {self.settings.runtime.health_port} on {host}: {exc.strerror}"
            ) from None
        self.sweep()
        PROPOSAL_STATES.watch(self.service.count_by_state)
        self._threads.append(self._probe_server.start())
        log.info("serving /healthz, /readyz, /metrics on %s:%d", host, self._probe_server.port)
        loops = [("sizer-sweep", self._sweep_forever), ("sizer-beat", self._beat)]
        if self.follower is not None:
            loops.append(("sizer-follow", self._follow_forever))
        for name, target in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.http:
            secret = self.settings.slack.signing_secret
            self._server = SlackHTTPServer(
                self.app,
                host,
                port,
                probes=self.probes,
                signing_secret=secret.get_secret_value() if secret is not None else None,
            )
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

    @property
    def health_port(self) -> int | None:
        return self._probe_server.port if self._probe_server is not None else None

    def wait(self) -> None:
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._socket is not None:
            self._socket.close()  # type: ignore[no-untyped-call]
        if self._probe_server is not None:
            self._probe_server.shutdown()
            self._probe_server.server_close()
        PROPOSAL_STATES.unwatch(self.service.count_by_state)
        self.pool.shutdown(wait=True)

    def report_interrupted(self) -> list[str]:
        """Say in each thread which applies a dead process left unfinished (each once)."""
        found = self.service.unreported_interrupted()
        for proposal in found:
            log.warning("interrupted: %s (%s) was %s", proposal.id, proposal.key, proposal.state)
            told = proposal.channel is not None and self.outbox.say(
                proposal.channel, blocks.interrupted_text(proposal), proposal.thread_ts
            )
            if proposal.channel and not told:
                self.service.report_failed(proposal.id)
        return [p.id for p in found]

    def resume_unanswered(self) -> list[str]:
        """Finish (or give up on, and say so) requests whose process died after the ack."""
        resumed = []
        for work_id in self.inbox.due():
            work = self.inbox.claim(work_id)
            if work is None:
                continue
            log.warning("resuming %s (%s, try %d)", work.id, work.kind, work.attempts)
            self.listeners.resume(work)
            resumed.append(work.id)
        return resumed

    def sweep(self) -> None:
        for step in (self._expire, self.report_interrupted, self.resume_unanswered):
            try:
                step()
            except Exception:
                SCHEDULED_CHECKS.labels("sweep", "failed").inc()
                log.exception("sweep step %s failed", getattr(step, "__name__", step))
            else:
                SCHEDULED_CHECKS.labels("sweep", "ok").inc()

    def _expire(self) -> None:
        for proposal in self.service.expire_due():
            self.outbox.update_card(proposal)

    def show_followed(self, proposal: Proposal) -> None:
        """A GitOps pull request merged or closed, or the rollout seen: card and thread."""
        self.outbox.update_card(proposal)
        if proposal.channel:
            self.outbox.say(proposal.channel, blocks.state_line(proposal), proposal.thread_ts)

    def _follow_forever(self) -> None:
        assert self.follower is not None
        while not self._stop.wait(self.settings.gitops.poll_interval_s):
            try:
                self.follower.poll()
            except Exception:
                log.exception("pull request follow-up failed")

    def _sweep_forever(self) -> None:
        while not self._stop.wait(self.settings.runtime.sweep_interval_s):
            self.sweep()

    def _beat(self) -> None:
        """Keep the lease of every request this process is answering."""
        while not self._stop.wait(self.inbox.lease_s / 3):
            try:
                self.inbox.renew_held()
            except Exception:
                log.exception("could not renew accepted requests")
