"""HTTP mode: events, interactivity and slash commands at one path, on a threaded server.

Each request is dispatched to Bolt, which verifies Slack's signature and answers within the
3-second window; long work has already moved to the worker pool by then.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App, BoltRequest

from bot.observability.probes import Probes, send

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        path: str = EVENTS_PATH,
        probes: Probes | None = None,
    ) -> None:
        self.app = app
        self.events_path = path
        self.probes = probes
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

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        answer = self.server.probes.answer(self.path) if self.server.probes else None
        if answer is not None:
            send(self, answer)
        elif self.path == "/healthz":
            self._send(200, {}, "ok")
        else:
            self._send(404, {}, "")

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if path != self.server.events_path or length > MAX_BODY:
            self._send(404 if path != self.server.events_path else 413, {}, "")
            return
        body = self.rfile.read(length).decode("utf-8")
        request = BoltRequest(body=body, query=query, headers=dict(self.headers.items()))
        response = self.server.app.dispatch(request)
        payload = response.body if isinstance(response.body, str) else json.dumps(response.body)
        self._send(response.status, response.headers, payload)

    def _send(self, status: int, headers: Mapping[str, Sequence[str]], body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() == "content-length":
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
