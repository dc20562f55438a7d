"""Cluster-sourced text is data, never instructions: fence it, and mask anything secret-shaped.

Annotations, log lines and events can say anything, including "ignore previous instructions".
Before such text reaches a model it is wrapped in markers the system prompt explains, with any
marker inside it defused so the text cannot close its own fence.

Everything the model is sent (tool results, the thread's messages) also passes through
:func:`redact_data`: credentials in URLs (``postgres://admin:[redacted]@db``), values after
``password=``/``token=``/``secret:`` and similar keys, values of mapping keys with such names,
and well-known token shapes (Slack, OpenAI, AWS, GitHub, JWTs, bearer tokens, private keys).
The key is kept so the model still knows a credential was there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["CLOSE", "OPEN", "REDACTED", "fence", "redact", "redact_data"]

OPEN = "<<<CLUSTER-DATA"
CLOSE = "CLUSTER-DATA>>>"
REDACTED = "[redacted]"
_MARKERS = re.compile(r"<<<|>>>")

# Names that always hold a secret when followed by ':' or '=' (or name a mapping key).
_SECRET_NAME = (
    r"(?:password|passwd|pwd|passphrase|secret|client[_-]?secret|token|access[_-]?token|"
    r"refresh[_-]?token|auth[_-]?token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|"
    r"private[_-]?key|credentials?|signing[_-]?secret)"
)
_VALUE = r"[^\s\"'&,;<>)\]}]+"
_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # -----BEGIN ... PRIVATE KEY----- blocks, to their end (or the end of the text).
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
        ),
        REDACTED,
    ),
    # scheme://user:password@host  →  scheme://user:[redacted]@host
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://)([^\s:/@\"']*):([^\s@/\"']+)@"),
        lambda m: f"{m[1]}{m[2]}:{REDACTED}@",
    ),
    # scheme://longtoken@host (a token used as the user name)
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://)([A-Za-z0-9_.~+-]{20,})@"),
        lambda m: f"{m[1]}{REDACTED}@",
    ),
    # password=..., "token": "...", api_key: ...  (the name is kept, the value masked)
    (
        re.compile(rf"(?i)(\b[\w.-]*{_SECRET_NAME}[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\]){_VALUE}"),
        lambda m: f"{m[1]}{REDACTED}",
    ),
    # key=<long hex or base64>, sig=..., auth=...: masked only when the value looks random.
    (
        re.compile(
            r"(?i)(\b(?:key|auth|sig|signature|hash|hmac)[\"']?\s*[:=]\s*[\"']?)"
            r"(?:[0-9a-f]{24,}|[A-Za-z0-9+/_-]{24,}={0,2})(?![\w+/=-])"
        ),
        lambda m: f"{m[1]}{REDACTED}",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*"), f"Bearer {REDACTED}"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), REDACTED),  # Slack tokens
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),  # OpenAI-style API keys
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),  # AWS access key IDs
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), REDACTED),  # GitHub tokens
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
)
_SECRET_KEY = re.compile(rf"(?i).*{_SECRET_NAME}\Z")


def redact(text: str) -> str:
    """Mask values that look like credentials; the rest of the text is kept."""
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """:func:`redact` applied to every string in nested dicts, lists and tuples; the value of
    a mapping key named like a secret (``DB_PASSWORD``, ``apiKey``) is masked whole."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and _SECRET_KEY.fullmatch(key) and isinstance(item, str)
                else redact_data(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def fence(text: str, source: str) -> str:
    """``text`` wrapped as inert data from ``source`` (e.g. 'annotation team-a/api')."""
    body = _MARKERS.sub("[fence]", redact(text))
    label = _MARKERS.sub("", source)
    return f"{OPEN} source={label}\n{body}\n{CLOSE}"
