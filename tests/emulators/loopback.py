"""A threaded HTTP server on a free 127.0.0.1 port, shared by the HTTP protocol emulators."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; requests are handled on threads of their own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


def url_of(server: ThreadingHTTPServer | None) -> str:
    assert server is not None, "the emulator is not started"
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def shutdown(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
