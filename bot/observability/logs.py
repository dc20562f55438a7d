"""Logging set-up: text or one JSON object per line, the apply's context on every line, and
no credential ever written.

``SIZER_LOG_FORMAT=json`` selects JSON (python-json-logger). While an apply runs, every line
carries ``proposal_id`` and ``workload`` (set with :func:`log_context`), whichever module
logs it. Every line passes through :class:`Redactor` after formatting, exceptions and extra
fields included: the configured secrets and anything shaped like a Slack token, an API key, a
bearer header or a URL password are replaced before the line reaches the stream.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["REDACTED", "Redactor", "configure_logging", "log_context", "secret_values"]

REDACTED = "[redacted]"
_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "sizer_log_context", default=None
)
_PATTERNS = (
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),  # Slack bot, user, refresh tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),  # OpenAI-style API keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
    re.compile(r"(://[^:/@\s]*:)[^@\s/]+(@)"),  # password in a URL
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message")


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Every line logged inside (in this thread) carries ``fields``."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _CONTEXT.get()
        if context:
            for key, value in context.items():
                setattr(record, key, value)
            record._sizer_text = " ".join(f"{k}={v}" for k, v in context.items())
        return True


class Redactor(logging.Formatter):
    """Formats with ``inner``, then removes secrets from the whole line."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(
                lambda m: (
                    (m.group(1) if m.groups() else "")
                    + REDACTED
                    + (m.group(2) if len(m.groups()) > 1 else "")
                ),
                text,
            )
        return text

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self._inner.format(record))


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = record.__dict__.get("_sizer_text")
        return f"{line} [{extra}]" if isinstance(extra, str) else line


class _JsonFormatter(JsonFormatter):
    def add_fields(
        self,
        log_data: dict[str, object],
        record: logging.LogRecord,
        message_dict: dict[str, object],
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("_sizer_text", None)


def configure_logging(
    fmt: str, level: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one that writes ``fmt`` (text or json)."""
    inner: logging.Formatter
    if fmt == "json":
        inner = _JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    else:
        inner = _TextFormatter(TEXT_FORMAT)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Redactor(inner, secrets))
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def secret_values(settings: Settings) -> list[str]:
    """Every credential the settings hold, for :class:`Redactor` to remove by value."""
    slack, llm = settings.slack, settings.llm
    found = [
        s.get_secret_value()
        for s in (slack.bot_token, slack.app_token, slack.signing_secret, llm.api_key)
        if s is not None
    ]
    password = urlsplit(settings.redis.url).password
    if password:
        found.append(password)
    return found
