"""A local server speaking the OpenAI chat-completions protocol, scripted per test.

``POST /v1/chat/completions`` answers from a queue of scripted turns — assistant text, tool
calls, an HTTP error or a stall — as plain JSON or, when the request asks ``stream: true``, as
server-sent events with ``tool_calls`` deltas split across chunks the way the real API sends
them. Every request body is recorded, so a test can assert what the model was shown.
``ChatOpenAI(base_url=emulator.base_url, api_key="test")`` runs against it unchanged.

A ``responder`` callable can replace the queue (used to replay recorded conversations).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.emulators.loopback import serve, shutdown, url_of

Body = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] | str
    id: str = ""

    def arguments_json(self) -> str:
        args = self.arguments
        return args if isinstance(args, str) else json.dumps(args)


@dataclass(frozen=True)
class Turn:
    """One scripted model turn."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200  # non-200: answer with an OpenAI error body
    error: str = ""
    delay_s: float = 0.0
    raw: str | None = None  # answer 200 with exactly this body (garbage from a broken endpoint)
    content_type: str = "application/json"


@dataclass
class OpenAIEmulator:
    model: str = "emulated-model"
    script: deque[Turn] = field(default_factory=deque)
    requests: list[Body] = field(default_factory=list)
    responder: Callable[[Body], Turn] | None = None
    _server: ThreadingHTTPServer | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- scripting -------------------------------------------------------------------------

    def reply(self, text: str) -> OpenAIEmulator:
        self.script.append(Turn(text=text))
        return self

    def call(self, name: str, arguments: dict[str, Any] | str, text: str | None = None) -> Any:
        self.script.append(Turn(text=text, tool_calls=(ToolCall(name, arguments),)))
        return self

    def calls(self, *calls: tuple[str, dict[str, Any]]) -> OpenAIEmulator:
        self.script.append(Turn(tool_calls=tuple(ToolCall(n, a) for n, a in calls)))
        return self

    def fail(self, status: int, error: str = "scripted failure") -> OpenAIEmulator:
        self.script.append(Turn(status=status, error=error))
        return self

    def garbage(self, raw: str, content_type: str = "application/json") -> OpenAIEmulator:
        """Answer HTTP 200 with ``raw`` as the body (or as the one event of a stream)."""
        self.script.append(Turn(raw=raw, content_type=content_type))
        return self

    def stall(self, seconds: float, text: str = "late") -> OpenAIEmulator:
        self.script.append(Turn(text=text, delay_s=seconds))
        return self

    # --- what the model was sent -----------------------------------------------------------

    def sent_text(self) -> str:
        """Every message of every request, as one string (for 'never reached the model')."""
        return "\n".join(json.dumps(r.get("messages", [])) for r in self.requests)

    def tool_messages(self, index: int = -1) -> list[Body]:
        return [m for m in self.requests[index]["messages"] if m.get("role") == "tool"]

    # --- server ----------------------------------------------------------------------------

    def start(self) -> str:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                emulator._handle(self)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    emulator._json(self, 200, {"object": "list", "data": [{"id": "sizer-test"}]})
                else:
                    emulator._json(self, 404, {"error": {"message": f"no route {self.path}"}})

        self._server = serve(Handler)
        return self.url

    @property
    def url(self) -> str:
        return url_of(self._server)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def stop(self) -> None:
        shutdown(self._server)

    def _next(self, body: Body) -> Turn:
        with self._lock:
            self.requests.append(body)
            if self.responder is not None:
                return self.responder(body)
            if not self.script:
                return Turn(status=500, error="the emulator's script is exhausted")
            return self.script.popleft()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if handler.path.rstrip("/") != "/v1/chat/completions":
            self._json(handler, 404, {"error": {"message": f"no route {handler.path}"}})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._json(handler, 400, {"error": {"message": "body is not JSON"}})
            return
        turn = self._next(body)
        if turn.delay_s:
            time.sleep(turn.delay_s)
        if turn.status != 200:
            error = {"message": turn.error, "type": "server_error", "code": str(turn.status)}
            self._json(handler, turn.status, {"error": error})
            return
        if turn.raw is not None:
            self._raw(handler, turn, bool(body.get("stream")))
        elif body.get("stream"):
            self._stream(handler, turn, body)
        else:
            self._json(handler, 200, self._completion(turn))

    def _tool_calls(self, turn: Turn) -> list[Body]:
        return [
            {
                "id": call.id or f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for call in turn.tool_calls
        ]

    def _completion(self, turn: Turn) -> Body:
        message: Body = {"role": "assistant", "content": turn.text}
        if turn.tool_calls:
            message["tool_calls"] = self._tool_calls(turn)
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if turn.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def _stream(self, handler: BaseHTTPRequestHandler, turn: Turn, body: Body) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        ident = f"chatcmpl-{next(self._ids)}"

        def chunk(delta: Body, finish: str | None = None) -> None:
            event = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            handler.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        text = turn.text or ""
        for start in range(0, len(text), 7):
            chunk({"content": text[start : start + 7]})
        for index, call in enumerate(self._tool_calls(turn)):
            head = {"index": index, "id": call["id"], "type": "function"}
            chunk({"tool_calls": [head | {"function": {"name": call["function"]["name"]}}]})
            args = call["function"]["arguments"]
            for start in range(0, len(args), 9):
                piece = {"index": index, "function": {"arguments": args[start : start + 9]}}
                chunk({"tool_calls": [piece]})
        chunk({}, "tool_calls" if turn.tool_calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            event = {"id": ident, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()
        handler.close_connection = True

    @staticmethod
    def _raw(handler: BaseHTTPRequestHandler, turn: Turn, stream: bool) -> None:
        raw = turn.raw or ""
        data = (f"data: {raw}\n\ndata: [DONE]\n\n" if stream else raw).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream" if stream else turn.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, code: int, payload: Body) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
