"""A Slack emulator for tests: a recording Web API server and a Socket Mode websocket server.

The Web API answers the methods Sizer uses, records every call, validates every Block Kit
payload with ``slack_sdk.models`` (a bad payload is recorded in :attr:`SlackEmulator.invalid`)
and can answer 429 with ``Retry-After`` on demand. ``apps.connections.open`` hands out the
``ws://`` URL of the built-in Socket Mode server, which delivers envelopes and records acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

JSON = dict[str, Any]
BOT_USER = "UBOT"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


@dataclass
class Call:
    method: str
    params: JSON
    token: str
    at: float
    status: int = 200
    response: JSON = field(default_factory=dict)


@dataclass
class Ack:
    envelope_id: str
    payload: JSON | None
    seconds: float


@dataclass
class _Envelope:
    sent_at: float
    done: threading.Event = field(default_factory=threading.Event)
    ack: Ack | None = None


def validate_blocks(blocks: list[JSON], limit: int) -> list[str]:
    problems = []
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks > {limit}")
    for raw in blocks:
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                raise ValueError(f"unknown block {raw.get('type')}")
            parsed.validate_json()
            if parsed.to_dict() != raw:
                problems.append(f"block has fields slack_sdk does not know: {raw}")
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
    return problems


def validate_view(view: JSON) -> list[str]:
    try:
        parsed = View(**view)
        parsed.validate_json()
    except Exception as exc:
        return [f"view: {type(exc).__name__}: {exc}"]
    return validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS)


class SlackEmulator:
    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        groups: dict[str, list[str]] | None = None,
        users: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.groups = groups or {}
        self.users = users or {}  # id → display_name, real_name, tz (users.info)
        self.calls: list[Call] = []
        self.invalid: list[str] = []
        self.uploads: dict[str, bytes] = {}
        self._fail: dict[str, list[int]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_connected = threading.Event()
        self._envelopes: dict[str, _Envelope] = {}

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=8 << 20)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        site = web.SockSite(self._runner, probe)
        await site.start()

    def stop(self) -> None:
        async def _stop() -> None:
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- test controls ------------------------------------------------------------------

    def inject_429(self, method: str, times: int = 1, retry_after: int = 0) -> None:
        """The next ``times`` calls of ``method`` get 429 with this Retry-After."""
        with self._lock:
            self._fail.setdefault(method, []).extend([retry_after] * times)

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def wait_for(
        self, method: str, match: Callable[[Call], bool] = lambda c: True, timeout: float = 10
    ) -> Call:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for call in self.calls:
                    if call.method == method and call.status == 200 and match(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, str(c.params.get("text", ""))[:80]) for c in self.calls]
                    raise AssertionError(f"no matching {method} within {timeout}s; saw {seen}")
                self._lock.wait(left)

    def count(self, method: str, match: Callable[[Call], bool] = lambda c: True) -> int:
        return sum(1 for c in self.calls_of(method) if match(c))

    # -- Web API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(params.get("token", ""))
        with self._lock:
            failures = self._fail.get(method)
            if failures:
                retry_after = failures.pop(0)
                self.calls.append(Call(method, params, token, time.time(), status=429))
                self._lock.notify_all()
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(retry_after)},
                )
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            body: JSON = {"ok": False, "error": "invalid_auth"}
        else:
            self._validate(method, params)
            body = self._answer(method, params)
        with self._lock:
            self.calls.append(Call(method, params, token, time.time(), response=body))
            self._lock.notify_all()
        return web.json_response(body)

    def _validate(self, method: str, params: JSON) -> None:
        problems: list[str] = []
        if isinstance(params.get("blocks"), list):
            problems += validate_blocks(params["blocks"], MAX_MESSAGE_BLOCKS)
        if isinstance(params.get("view"), dict):
            problems += validate_view(params["view"])
        if len(str(params.get("text", ""))) > 40_000:
            problems.append("text longer than 40000 characters")
        with self._lock:
            self.invalid += [f"{method}: {p}" for p in problems]

    def _answer(self, method: str, params: JSON) -> JSON:
        ts = f"{1700000000 + next(self._ts)}.000100"
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "sizer",
                "team": "Test",
                "url": "https://test.slack.com/",
            }
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": ts,
                "message": {"text": params.get("text", ""), "ts": ts},
            }
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views.open", "views.update", "views.publish"):
            view = dict(params.get("view") or {})
            view["id"] = "V" + uuid.uuid4().hex[:8].upper()
            return {"ok": True, "view": view}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:8].upper()
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            }
        if method == "files.completeUploadExternal":
            files = params.get("files")
            listed = json.loads(files) if isinstance(files, str) else files or []
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title", "")} for f in listed],
            }
        if method == "chat.getPermalink":
            channel, message = params.get("channel"), str(params.get("message_ts", ""))
            link = f"https://test.slack.com/archives/{channel}/p{message.replace('.', '')}"
            return {"ok": True, "channel": channel, "permalink": link}
        if method == "users.info":
            user = str(params.get("user", ""))
            profile = self.users.get(user, {})
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "real_name": profile.get("real_name", user),
                    "tz": profile.get("tz", "UTC"),
                    "profile": {"display_name": profile.get("display_name", "")},
                },
            }
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.groups.get(str(params.get("usergroup")), [])}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            data = b""
            async for part in reader:
                data += await part.read()  # type: ignore[union-attr]
        self.uploads[request.match_info["file_id"]] = data
        return web.Response(text=f"OK - {len(data)}")

    # -- Socket Mode --------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        )
        self.socket_connected.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            body = json.loads(message.data)
            envelope_id = body.get("envelope_id")
            with self._lock:
                pending = self._envelopes.get(envelope_id or "")
                if pending is not None and pending.ack is None:
                    pending.ack = Ack(
                        envelope_id, body.get("payload"), time.monotonic() - pending.sent_at
                    )
                    pending.done.set()
        self._sockets.remove(ws)
        return ws

    def send_envelope(self, kind: str, payload: JSON, retry_attempt: int = 0) -> str:
        """Deliver ``payload`` as an ``events_api``/``interactive``/``slash_commands`` envelope."""
        if not self.socket_connected.wait(10) or not self._sockets:
            raise AssertionError("no Socket Mode connection")
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._lock:
            self._envelopes[envelope_id] = _Envelope(time.monotonic())
        ws = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(envelope)), self._loop).result(5)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5) -> Ack:
        pending = self._envelopes[envelope_id]
        if not pending.done.wait(timeout) or pending.ack is None:
            raise AssertionError(f"envelope {envelope_id} not acknowledged within {timeout}s")
        return pending.ack


async def _params(request: web.Request) -> JSON:
    raw = await request.read()
    if request.content_type == "application/json":
        body = json.loads(raw or b"{}")
        return dict(body) if isinstance(body, dict) else {}
    params: JSON = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    params.update(request.query)
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(params[key])
    return params
