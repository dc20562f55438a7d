"""HTTP mode: events, interactivity and slash commands at one path, on a threaded server.

Each request is dispatched to Bolt, which verifies Slack's signature and answers within the
3-second window; long work has already moved to the worker pool by then.

The edge answers every malformed request with a status code, never a dropped connection:
a bad ``Content-Length`` or a body that is not UTF-8 is 400, a missing or non-numeric
timestamp or a wrong signature is 401, a correctly signed body that is not a Slack payload is
400. The listen backlog holds a burst of connections while the accept loop is busy.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.observability.probes import Probes, send

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20
# Connections the kernel queues before accept(); socketserver's default of 5 resets bursts.
LISTEN_BACKLOG = 1024
# A client that sends nothing for this long loses its thread (slow or stuck connections).
IDLE_TIMEOUT_S = 30
_DIGITS = re.compile(r"[0-9]{1,12}", re.ASCII)
_NONE: dict[str, Sequence[str]] = {}


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        path: str = EVENTS_PATH,
        probes: Probes | None = None,
        *,
        signing_secret: str | None = None,
    ) -> None:
        """``signing_secret`` lets the edge tell a forged unreadable body (401) from a
        signed one (400); Bolt checks every signature again either way."""
        self.app = app
        self.events_path = path
        self.probes = probes
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sizer-http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    timeout = IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        answer = self.server.probes.answer(self.path) if self.server.probes else None
        if answer is not None:
            send(self, answer)
        elif self.path == "/healthz":
            self._send(200, _NONE, "ok")
        else:
            self._send(404, _NONE, "")

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path != self.server.events_path:
            self._send(404, _NONE, "")
            return
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not _DIGITS.fullmatch(declared):
            self._send(400, _NONE, "Content-Length must be a number of bytes", close=True)
            return
        length = int(declared)
        if length > MAX_BODY:
            self._send(413, _NONE, "", close=True)
            return
        try:
            body = self.rfile.read(length).decode("utf-8")
        except UnicodeDecodeError:
            self._send(400, _NONE, "the body is not UTF-8")
            return
        refusal = self._unsigned(body)
        if refusal:
            self._send(401, _NONE, refusal)
            return
        try:
            request = BoltRequest(body=body, query=query, headers=dict(self.headers.items()))
        except (ValueError, TypeError, AttributeError):
            self._send(400, _NONE, "the body is not a Slack payload")
            return
        if not isinstance(request.body, dict):
            self._send(400, _NONE, "the body is not a Slack payload")
            return
        try:
            response = self.server.app.dispatch(request)
        except Exception:
            ref = secrets.token_hex(3)
            log.exception("dispatch failed (ref %s)", ref)
            self._send(500, _NONE, f"internal error (ref {ref})")
            return
        payload = response.body if isinstance(response.body, str) else json.dumps(response.body)
        self._send(response.status, response.headers, payload)

    def _unsigned(self, body: str) -> str | None:
        """Why the request cannot be from Slack, or None (Bolt verifies the signature too)."""
        stamp = self.headers.get("X-Slack-Request-Timestamp") or ""
        if not _DIGITS.fullmatch(stamp):
            return "X-Slack-Request-Timestamp must be a Unix time in seconds"
        verifier = self.server.verifier
        signature = self.headers.get("X-Slack-Signature")
        if verifier is not None and not verifier.is_valid(body, stamp, signature):
            return "the request is not signed by Slack"
        return None

    def _send(
        self,
        status: int,
        headers: Mapping[str, Sequence[str]],
        body: str,
        *,
        close: bool = False,
    ) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() == "content-length":
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:  # the unread body makes the connection unusable for another request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
