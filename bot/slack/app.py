"""Building the Bolt app from explicit parts: settings, a Web client, the service, the pool.

Nothing is looked up globally: tests pass a client pointed at the emulator and a recording
executor inside the service, exactly as production passes real ones.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.approvals.locks import EventDeduper
from bot.service import ProposalService
from bot.settings import SlackSettings
from bot.slack.inbox import Inbox
from bot.slack.instrumented import CountingRateLimitHandler, InstrumentedWebClient
from bot.slack.listeners import Listeners
from bot.slack.outbox import Outbox
from bot.slack.responder import GrammarResponder, Responder
from bot.slack.workers import WorkerPool

log = logging.getLogger(__name__)


def web_client(settings: SlackSettings) -> WebClient:
    """The bot-token client; 429s wait for Retry-After and retry, up to the configured count."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    return InstrumentedWebClient(
        token=token,
        base_url=settings.base_url,
        timeout=15,
        retry_handlers=[
            CountingRateLimitHandler(max_retry_count=settings.max_retries),
            ConnectionErrorRetryHandler(max_retry_count=1),
        ],
    )


class SlackGroups:
    """User group membership from ``usergroups.users.list``, cached for a minute."""

    def __init__(self, client: WebClient, ttl_s: float = 60) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(group_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            # Unknown membership means "not a member": a refusal, never an approval.
            log.warning("cannot list user group %s: %s", group_id, exc.response.get("error"))
            return frozenset()
        listed: list[object] = response.get("users", [])
        users = frozenset(str(u) for u in listed)
        with self._lock:
            self._cache[group_id] = (now, users)
        return users


@dataclass(frozen=True)
class Parts:
    settings: SlackSettings
    client: WebClient
    service: ProposalService
    pool: WorkerPool
    deduper: EventDeduper
    responder: Responder | None = None
    inbox: Inbox | None = None
    outbox: Outbox | None = None
    work_attempts: int = 3


def build_app(parts: Parts, *, http: bool) -> tuple[App, Listeners]:
    """A Bolt app and its listeners; ``http`` turns on request signature verification."""
    settings = parts.settings
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = App(
        client=parts.client,
        signing_secret=secret,
        request_verification_enabled=http,
        token_verification_enabled=False,
        url_verification_enabled=http,
        ssl_check_enabled=http,
        name="sizer",
    )
    grammar = GrammarResponder(parts.service)
    listeners = Listeners(
        service=parts.service,
        responder=parts.responder or grammar,
        grammar=grammar,
        pool=parts.pool,
        deduper=parts.deduper,
        outbox=parts.outbox or Outbox(parts.client, parts.service, inbox=parts.inbox),
        inbox=parts.inbox,
        work_attempts=parts.work_attempts,
    )
    listeners.register(app)
    return app, listeners
