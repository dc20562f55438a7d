"""The GET endpoints Sizer serves about itself, in both Socket Mode and HTTP mode.

``/healthz`` answers 200 while the process serves requests (liveness: restart me if not);
``/readyz`` answers 200 only when every dependency does, 503 otherwise, with each check named
(readiness: send me no work if not); ``/metrics`` is the Prometheus text format. In HTTP mode
the Slack events server answers these paths too; in either mode :class:`ProbeServer` serves
them on ``SIZER_HEALTH_PORT``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.observability import metrics
from bot.observability.readiness import Readiness

__all__ = ["Answer", "ProbeServer", "Probes"]

Answer = tuple[int, str, bytes]
JSON_TYPE = "application/json"


class Probes:
    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness

    def answer(self, path: str) -> Answer | None:
        """The response for ``path``, or None when it is not one of these endpoints."""
        path = path.partition("?")[0]
        if path == "/healthz":
            return 200, JSON_TYPE, b'{"status": "ok"}'
        if path == "/readyz":
            ready, body = self.readiness.report()
            return (200 if ready else 503), JSON_TYPE, json.dumps(body).encode()
        if path == "/metrics":
            data, content_type = metrics.exposition()
            return 200, content_type, data
        return None


class ProbeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, probes: Probes, host: str, port: int) -> None:
        self.probes = probes
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sizer-probes", daemon=True)
        thread.start()
        return thread


def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    status, content_type, body = answer
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    server: ProbeServer

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        send(self, self.server.probes.answer(self.path) or (404, "text/plain", b"not found"))
